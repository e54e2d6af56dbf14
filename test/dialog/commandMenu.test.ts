/**
 * The command menu over the real Bot API client and a fake Bot API on real HTTP: set at start
 * for private chats and groups, in the profile's default language and in Russian, without the
 * admin chat's commands; not set again on a restart with the same commands; set again when a
 * team adds one; a failure is a log line, not a failed start.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { builtinCommands } from "../../src/dialog/builtinCommands.ts"
import { type Command, defineCommand } from "../../src/dialog/Command.ts"
import { menuHashKey, updateCommandMenu } from "../../src/dialog/CommandMenu.ts"
import { CommandsList } from "../../src/dialog/Commands.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { ConversationState } from "../../src/store/ConversationState.ts"
import { makeConversationStateMemory } from "../../src/store/memory/MemoryStores.ts"
import { defaultProfilePath } from "../../src/testing/index.ts"
import { type FakeBotApi, makeFakeBotApi, telegramLayerFor } from "../support/FakeBotApi.ts"

const orders = defineCommand({ name: "orders", description: "your open orders", handler: () => Effect.succeed("none") })

/** The built-in commands as the registry lists them (the menu needs their names, descriptions and who may use them). */
const builtins: ReadonlyArray<Command> = builtinCommands.map((command) => ({ ...command, handler: () => Effect.succeed("") }))

/** One start of the bot's menu step: the commands given, the store kept across starts. */
const start = (fake: FakeBotApi, state: ConversationState["Type"], commands: ReadonlyArray<Command> = builtins) =>
  updateCommandMenu.pipe(
    Effect.provide(Layer.mergeAll(
      telegramLayerFor(fake),
      BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
      CommandsList(commands).pipe(Layer.orDie),
      Layer.succeed(ConversationState, state)
    ))
  )

describe("the command menu", () => {
  it.scoped("set once per scope and language, not again on an unchanged restart, again after a change", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const state = yield* makeConversationStateMemory

      yield* start(fake, state)
      const first = yield* fake.calls("setMyCommands")
      expect(first.map((c) => [c.params["scope"], c.params["language_code"]])).toEqual([
        [{ type: "all_private_chats" }, undefined],
        [{ type: "all_private_chats" }, "ru"],
        [{ type: "all_group_chats" }, undefined],
        [{ type: "all_group_chats" }, "ru"]
      ])
      expect(first[0]?.params["commands"]).toEqual([
        { command: "start", description: "greeting" },
        { command: "help", description: "what the bot can do" },
        { command: "clear", description: "forget our conversation" },
        { command: "human", description: "talk to a person" },
        { command: "usage", description: "your tokens and what is left" },
        { command: "buy", description: "buy more tokens with Telegram Stars" },
        { command: "model", description: "choose the model that answers you" },
        { command: "persona", description: "choose how the bot talks to you" },
        { command: "memory", description: "what the bot remembers about you" },
        { command: "forget", description: "forget what the bot remembers about you" }
      ])
      expect(first[1]?.params["commands"]).toEqual([
        { command: "start", description: "приветствие" },
        { command: "help", description: "что умеет бот" },
        { command: "clear", description: "забыть наш разговор" },
        { command: "human", description: "поговорить с человеком" },
        { command: "usage", description: "ваши токены и сколько осталось" },
        { command: "buy", description: "купить токены за Telegram Stars" },
        { command: "model", description: "выбрать модель, которая вам отвечает" },
        { command: "persona", description: "выбрать, как бот с вами разговаривает" },
        { command: "memory", description: "что бот о вас помнит" },
        { command: "forget", description: "забыть то, что бот о вас помнит" }
      ])
      expect(first[2]?.params["commands"]).toEqual(first[0]?.params["commands"])

      yield* start(fake, state)
      expect(yield* fake.calls("setMyCommands")).toHaveLength(4)

      yield* start(fake, state, [...builtins, orders])
      const after = (yield* fake.calls("setMyCommands")).slice(4)
      expect(after).toHaveLength(4)
      // A team's command without a description in the profile has the registry's in every language.
      expect(after[1]?.params["commands"]).toContainEqual({ command: "orders", description: "your open orders" })
    }))

  it.scoped("a Bot API that refuses the menu does not fail the start, and the next start tries again", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const state = yield* makeConversationStateMemory
      yield* fake.script("setMyCommands", { error: 400, description: "Bad Request: BOT_COMMAND_INVALID" })
      yield* start(fake, state)
      expect(yield* state.get(menuHashKey)).toEqual(Option.none())
      yield* start(fake, state)
      expect(Option.isSome(yield* state.get(menuHashKey))).toBe(true)
      // The refused first call, then the second start's four menus.
      expect(yield* fake.calls("setMyCommands")).toHaveLength(5)
    }))
})
