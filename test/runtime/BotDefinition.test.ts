import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Schema } from "effect"
import { describeError } from "../../src/cli/Failure.ts"
import { LanguageModelOffline } from "../../src/llm/OfflineModel.ts"
import { BotProfile } from "../../src/profile/BotProfile.ts"
import { assemblyOf } from "../../src/runtime/BotDefinition.ts"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import { TelegramApiRecorder } from "../../src/telegram/TelegramRecorder.ts"
import { Tools } from "../../src/tools/Tools.ts"
import { orderBot } from "../../examples/order-status/bot.ts"

const edges = { telegram: TelegramApiRecorder(), model: LanguageModelOffline, stores: StoresMemory }

class OrdersDown extends Schema.TaggedError<OrdersDown>()("OrdersDown", { message: Schema.String }) {}

describe("BotDefinition", () => {
  it.scoped("a team's definition gives the bot its profile and tools, with its services provided", () =>
    Effect.gen(function*() {
      const bot = Layer.succeedContext(yield* Layer.build(assemblyOf(orderBot).assemble(edges)))
      const [tools, profile] = yield* Effect.provide(Effect.all([Tools, BotProfile]), bot)
      expect(tools.names).toContain("get_order_status")
      expect(profile.name).toBe("Northwind Goods")
    }))

  it.scoped("services that fail to start stop the bot with one line naming them", () =>
    Effect.gen(function*() {
      const failing = assemblyOf({ services: Layer.fail(new OrdersDown({ message: "orders database refused the connection" })) })
      const error = yield* Effect.flip(Layer.build(failing.assemble(edges)))
      expect(error).toMatchObject({ _tag: "BotServicesFailed", message: "orders database refused the connection" })
      expect(describeError(error)).toEqual({
        exitCode: 1,
        message: Option.some("the bot's own services could not start: orders database refused the connection")
      })
    }))
})
