/**
 * In-chat commands as a team adds one: a `/orders` command defined with the public API, given
 * to the bot through its parts next to the built-in ones, answered without the model and
 * without any change to the pipeline.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option } from "effect"
import {
  botLayer,
  BotProfile,
  BotProfileFile,
  builtinCommands,
  CommandFailure,
  Commands,
  defineCommand,
  DialogConfig,
  DispatcherConfig,
  LanguageModel,
  SendConfig,
  TelegramApi
} from "effect-telegram-dialog-bot"
import {
  ClientStore,
  defaultProfilePath,
  HistoryStore,
  LanguageModelScripted,
  runUpdates,
  type Script,
  ScriptedModel,
  StoresMemory,
  TelegramApiRecorder,
  testBot,
  textMessage,
  textsTo
} from "effect-telegram-dialog-bot/testing"
import { makeCommands, parseCommand } from "../../src/dialog/Commands.ts"
import type { TelegramId } from "../../src/domain/Update.ts"

/** The team's own service the command needs. */
class OrderBook extends Context.Tag("order-status/OrderBook")<OrderBook, {
  readonly openOrders: (userId: TelegramId) => Effect.Effect<ReadonlyArray<string>>
}>() {}

const OrderBookMemory = Layer.succeed(OrderBook, {
  openOrders: (userId) => Effect.succeed(userId === 42 ? ["NW-1001", "NW-1002"] : [])
})

const orders = defineCommand({
  name: "orders",
  description: "your open orders",
  handler: ({ args, userId }) =>
    Effect.gen(function*() {
      const open = yield* Effect.flatMap(OrderBook, (book) => book.openOrders(userId))
      const shown = args === "" ? open : open.filter((id) => id === args.toUpperCase())
      if (shown.length === 0) {
        return yield* Effect.fail(new CommandFailure({ message: args === "" ? "You have no open orders." : `No open order ${args}.` }))
      }
      return `Your open orders: ${shown.join(", ")}`
    })
})

/** The bot from its parts, as a team wires it: the built-in commands and its own. */
const orderBot = (script: Script = {}) =>
  botLayer<never, TelegramApi | LanguageModel | OrderBook>({
    telegram: Layer.effect(TelegramApi, TelegramApi),
    model: Layer.effect(LanguageModel, LanguageModel),
    stores: StoresMemory,
    profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
    commands: [...builtinCommands, orders],
    dialogConfig: DialogConfig.make(),
    dispatcherConfig: DispatcherConfig.make(),
    sendConfig: SendConfig.make()
  }).pipe(
    Layer.orDie,
    Layer.provideMerge(Layer.mergeAll(TelegramApiRecorder(), LanguageModelScripted(script), OrderBookMemory))
  )

describe("a team's command through the bot's parts", () => {
  it.effect("/orders is answered without the model; the built-in commands answer as before", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([
        textMessage({ userId: 42, text: "/orders" }),
        textMessage({ userId: 42, text: "/orders@dialog_demo_bot nw-1002" }),
        textMessage({ userId: 42, text: "/ORDERS NW-9" }),
        textMessage({ userId: 7, text: "/orders" }),
        textMessage({ userId: 42, text: "/help" }),
        textMessage({ userId: 42, text: "/start@dialog_demo_bot" }),
        textMessage({ userId: 42, text: "/clear" })
      ])
      const profile = yield* BotProfile
      expect(textsTo(sent, 42)).toEqual([
        "Your open orders: NW-1001, NW-1002",
        "Your open orders: NW-1002",
        "No open order NW-9.",
        profile.texts.help,
        profile.texts.greeting,
        "Done: I forgot our conversation (0 messages removed)."
      ])
      expect(textsTo(sent, 7)).toEqual(["You have no open orders."])
      // The help text is the profile's, byte for byte.
      expect(profile.texts.help).toBe(
        "I can answer questions about Northwind Goods: delivery and shipping, payment, prices, opening hours, returns and refunds. I can remember your name, phone and email, and call a human colleague when you ask.\n\nCommands:\n/start — greeting\n/help — this message\n/clear — forget our conversation\n/human — talk to a person"
      )
      expect((yield* Commands).list).toEqual([
        { name: "start", description: "greeting" },
        { name: "help", description: "what the bot can do" },
        { name: "clear", description: "forget our conversation" },
        { name: "human", description: "talk to a person" },
        { name: "usage", description: "your tokens and what is left" },
        { name: "buy", description: "buy more tokens with Telegram Stars" },
        { name: "refund", description: "refund a Stars payment (admin chat)" },
        { name: "model", description: "choose the model that answers you" },
        { name: "persona", description: "choose how the bot talks to you" },
        { name: "memory", description: "what the bot remembers about you" },
        { name: "forget", description: "forget what the bot remembers about you" },
        { name: "stats", description: "usage and payments (admin chat)" },
        { name: "grant", description: "give a user tokens (admin chat)" },
        { name: "ban", description: "stop answering a user (admin chat)" },
        { name: "unban", description: "answer a banned user again (admin chat)" },
        { name: "orders", description: "your open orders" }
      ])
      expect(yield* (yield* ScriptedModel).requests).toEqual([])
      expect(yield* (yield* HistoryStore).lastN(42 as TelegramId, 10)).toEqual([])
    }).pipe(Effect.provide(orderBot())))

  it.effect("a text that names no registered command goes to the dialog", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([
        textMessage({ userId: 42, text: "/ordersx" }),
        textMessage({ userId: 42, text: "my /orders please" })
      ])
      expect(textsTo(sent, 42)).toEqual(["first", "second"])
      expect((yield* (yield* ScriptedModel).requests).filter((r) => r.purpose === "classify")).toHaveLength(2)
    }).pipe(Effect.provide(orderBot({
      classify: ["general", "general"],
      think: ["n", "n"],
      synthesize: ["first", "second"]
    }))))

  it.effect("without `commands` the bot has the built-in ones only: /orders goes to the dialog", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 42, text: "/orders" })])
      expect(textsTo(sent, 42)).toEqual(["a dialog answer"])
      expect((yield* Commands).list.map((c) => c.name)).toEqual(["start", "help", "clear", "human", "usage", "buy", "refund", "model", "persona", "memory", "forget", "stats", "grant", "ban", "unban"])
    }).pipe(Effect.provide(testBot({ script: { classify: ["general"], think: ["n"], synthesize: ["a dialog answer"] } }))))
})

describe("/clear", () => {
  it.effect("says which saved details are kept, and claims none when nothing was saved", () =>
    Effect.gen(function*() {
      const first = yield* runUpdates([textMessage({ userId: 51, text: "/clear" })])
      expect(textsTo(first, 51)).toEqual(["Done: I forgot our conversation (0 messages removed)."])
      const clients = yield* ClientStore
      yield* clients.getOrCreate({ id: 51 as TelegramId, firstName: "Anna" })
      yield* clients.updateProfile(51 as TelegramId, { name: "Anna" })
      const nameOnly = yield* runUpdates([textMessage({ userId: 51, text: "/clear" })])
      expect(textsTo(nameOnly, 51)).toEqual([
        "Done: I forgot our conversation (0 messages removed). Your saved details (name) are kept."
      ])
      yield* clients.updateProfile(51 as TelegramId, { email: "anna@example.com" })
      const two = yield* runUpdates([textMessage({ userId: 51, text: "/clear" })])
      expect(textsTo(two, 51)).toEqual([
        "Done: I forgot our conversation (0 messages removed). Your saved details (name, email) are kept."
      ])
    }).pipe(Effect.provide(testBot())))
})

describe("the command registry", () => {
  it.effect("two commands with one name, or a name Telegram does not allow, fail at start", () =>
    Effect.gen(function*() {
      const twice = yield* Effect.flip(makeCommands([orders, { ...orders, description: "again" }]))
      expect(twice).toMatchObject({ _tag: "ConfigurationError", source: "commands", message: "two commands are named \"orders\"" })
      const upper = yield* Effect.flip(makeCommands([{ ...orders, name: "Orders" }]))
      expect(upper.message).toMatch(/"Orders" is not a command name/)
      const long = yield* Effect.flip(makeCommands([{ ...orders, name: "o".repeat(33) }]))
      expect(long._tag).toBe("ConfigurationError")
    }).pipe(Effect.provide(OrderBookMemory)))

  it("reads the command at the start of a text, addressed to a bot or not", () => {
    expect(parseCommand("/help")).toEqual(Option.some({ name: "help", args: "" }))
    expect(parseCommand("/HELP@dialog_demo_bot")).toEqual(Option.some({ name: "help", args: "" }))
    expect(parseCommand("/orders  NW-1001 ")).toEqual(Option.some({ name: "orders", args: "NW-1001" }))
    expect(parseCommand("/orders@bot\nNW-1001")).toEqual(Option.some({ name: "orders", args: "NW-1001" }))
    expect(parseCommand("/help!")).toEqual(Option.none())
    expect(parseCommand("hello /help")).toEqual(Option.none())
    expect(parseCommand("/")).toEqual(Option.none())
    expect(parseCommand(`/${"a".repeat(33)}`)).toEqual(Option.none())
  })
})
