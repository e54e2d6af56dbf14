/**
 * A custom tool in one file: a name, a description the model reads, a Schema of the
 * parameters and an Effect handler. The handler may use any service — here the team's own
 * `OrderService` — and its requirements become the bot layer's requirements.
 */
import { Effect, Option, Schema } from "effect"
import { defineTool, ToolFailure } from "../../src/index.ts"
import { OrderId, OrderService } from "./OrderService.ts"

export const orderStatusTool = defineTool({
  name: "get_order_status",
  description: "Looks up the status of one of the customer's orders: processing, shipped (with carrier and tracking number), delivered or cancelled.",
  parameters: Schema.Struct({
    order_id: OrderId.annotations({ description: "The order number, e.g. NW-1001" })
  }),
  handler: ({ order_id }, { userId }) =>
    Effect.gen(function*() {
      const orders = yield* OrderService
      const found = yield* orders.find(order_id).pipe(
        Effect.mapError((error) => new ToolFailure({ message: `the order system is not answering: ${error.message}` }))
      )
      // Customers see their own orders only; someone else's order looks exactly like a missing one.
      if (Option.isNone(found) || found.value.customerId !== userId) {
        return yield* Effect.fail(new ToolFailure({ message: `no order ${order_id} for this customer` }))
      }
      const { carrier, estimatedDelivery, id, status, trackingNumber } = found.value
      return { order_id: id, status, carrier, tracking_number: trackingNumber, estimated_delivery: estimatedDelivery }
    })
})
