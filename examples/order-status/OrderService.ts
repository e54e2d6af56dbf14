/**
 * The shop's order system, as a service the bot's tools can use. In production a team
 * provides it with a layer over its real order API or database; the in-memory layer here is
 * for tests and demos.
 */
import { Context, Effect, Layer, Option, Schema } from "effect"

export const OrderId = Schema.String.pipe(
  Schema.pattern(/^NW-\d{4,8}$/, { message: () => "expected an order number such as NW-1001" })
)

export const Order = Schema.Struct({
  id: OrderId,
  /** Telegram user id of the customer who placed the order. */
  customerId: Schema.Number,
  status: Schema.Literal("processing", "shipped", "delivered", "cancelled"),
  carrier: Schema.optional(Schema.String),
  trackingNumber: Schema.optional(Schema.String),
  /** ISO date, e.g. 2026-01-20. */
  estimatedDelivery: Schema.optional(Schema.String)
})
export type Order = typeof Order.Type

/** The order system could not answer. */
export class OrderLookupError extends Schema.TaggedError<OrderLookupError>()("OrderLookupError", {
  message: Schema.String
}) {}

export interface OrderServiceShape {
  readonly find: (id: string) => Effect.Effect<Option.Option<Order>, OrderLookupError>
}

export class OrderService extends Context.Tag("OrderService")<OrderService, OrderServiceShape>() {}

/** Orders kept in memory. */
export const OrderServiceMemory = (orders: ReadonlyArray<Order>) =>
  Layer.sync(OrderService, () => {
    const byId = new Map(orders.map((order) => [order.id, order]))
    return OrderService.of({
      find: (id) => Effect.sync(() => Option.fromNullable(byId.get(id))).pipe(Effect.withSpan("orders.find"))
    })
  })
