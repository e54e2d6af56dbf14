/**
 * A Telegram dialog bot of its own, in one file: the shop's orders as a service, a tool the
 * model calls to look an order up, a `/order` command that answers without the model, and the
 * bot itself — the profile (profile.json), the built-in tools and commands plus these.
 *
 *   npm start -- chat                          talk to it in this terminal (offline model, no key)
 *   npm start -- replay conversation.jsonl     run a recorded conversation through it
 *   TELEGRAM_BOT_TOKEN=… OPENAI_API_KEY=… npm start -- serve   (or `poll`) the real bot
 *   npm start -- --help                        every command and setting
 */
import {
  type BotDefinition,
  builtinCommands,
  builtinTools,
  CommandFailure,
  defineCommand,
  defineTool,
  ToolFailure
} from "effect-telegram-dialog-bot"
import { runBot } from "effect-telegram-dialog-bot/cli"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { fileURLToPath } from "node:url"

// ── The shop's orders ─────────────────────────────────────────────────────────────────────────

export const OrderNumber = Schema.String.pipe(
  Schema.pattern(/^LL-\d{4}$/, { message: () => "expected an order number such as LL-1001" })
)

export interface Order {
  readonly number: string
  /** The Telegram user id of the customer who placed it. */
  readonly customerId: number
  readonly status: "processing" | "shipped" | "delivered"
  readonly arrives?: string
}

/** The shop's order system. A real bot provides it with a layer over its order API or database. */
export class Orders extends Context.Tag("my-dialog-bot/Orders")<Orders, {
  readonly find: (number: string) => Effect.Effect<Option.Option<Order>>
}>() {}

/** Orders kept in memory: the demo's, or a test's. */
export const OrdersMemory = (orders: ReadonlyArray<Order>) =>
  Layer.succeed(Orders, {
    find: (number) => Effect.succeed(Option.fromNullable(orders.find((order) => order.number === number)))
  })

/** The customer's own order; anyone else's looks exactly like a missing one. */
const customersOrder = (number: string, customerId: number) =>
  Effect.flatMap(Orders, (orders) => orders.find(number)).pipe(
    Effect.map(Option.filter((order) => order.customerId === customerId))
  )

// ── A tool the model calls ────────────────────────────────────────────────────────────────────

export const orderStatusTool = defineTool({
  name: "get_order_status",
  description: "Looks up the status of one of the customer's orders and when it arrives.",
  parameters: Schema.Struct({
    order_number: OrderNumber.annotations({ description: "The order number, e.g. LL-1001" })
  }),
  handler: ({ order_number }, { userId }) =>
    Effect.flatMap(customersOrder(order_number, userId), Option.match({
      onNone: () => Effect.fail(new ToolFailure({ message: `no order ${order_number} for this customer` })),
      onSome: (order) => Effect.succeed({ order_number, status: order.status, arrives: order.arrives })
    }))
})

// ── A command answered without the model ──────────────────────────────────────────────────────

export const orderCommand = defineCommand({
  name: "order",
  description: "the status of an order: /order LL-1001",
  handler: ({ args, userId }) =>
    Schema.decodeUnknown(OrderNumber)(args).pipe(
      Effect.mapError(() => new CommandFailure({ message: "Send the order number after the command, e.g. /order LL-1001." })),
      Effect.flatMap((number) => customersOrder(number, userId)),
      Effect.flatMap(Option.match({
        onNone: () => Effect.fail(new CommandFailure({ message: `I can't find order ${args} under your account.` })),
        onSome: (order) =>
          Effect.succeed(`Order ${order.number}: ${order.status}${order.arrives === undefined ? "" : `, arrives ${order.arrives}`}.`)
      }))
    )
})

// ── The bot ───────────────────────────────────────────────────────────────────────────────────

export const demoOrders: ReadonlyArray<Order> = [
  { number: "LL-1001", customerId: 100_000_001, status: "shipped", arrives: "2026-01-20" },
  { number: "LL-1002", customerId: 100_000_001, status: "processing" }
]

export const bot: BotDefinition<Orders> = {
  // From src/ (the tests) and from dist/ (`npm start`) alike: the project's folder.
  profile: fileURLToPath(new URL("../profile.json", import.meta.url)),
  tools: [...builtinTools, orderStatusTool],
  commands: [...builtinCommands, orderCommand],
  services: OrdersMemory(demoOrders)
}

// Run as a program (`npm start`), not when a test imports the bot.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runBot(bot, { name: "my-dialog-bot", invocation: "npm start --" })
}
