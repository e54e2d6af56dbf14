/**
 * `/ban`, `/unban` and `ALLOWED_USERS`: a refused user's messages never reach the model (the
 * scripted model records every request), the user gets one notice, and the notice is kept in
 * the store so that a gate made anew (a restart, another replica) does not repeat it.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { makeAccessGate } from "../../src/dialog/AccessGate.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { ConversationStateMemory } from "../../src/store/memory/MemoryStores.ts"
import { defaultProfilePath, modelRequests, runUpdates, testBot, textMessage, textsTo } from "../../src/testing/index.ts"
import { UsageConfig } from "../../src/usage/UsageConfig.ts"

const admin = -100500
const script = (turns: number) => ({
  classify: Array.from({ length: turns }, () => "general"),
  think: Array.from({ length: turns }, () => "notes"),
  synthesize: Array.from({ length: turns }, (_, i) => `Answer ${i + 1}.`)
})
const say = (userId: number, text = "Hello?") => runUpdates([textMessage({ userId, text })])
const inAdminChat = (text: string) => Effect.map(runUpdates([textMessage({ userId: 1, chatId: admin, text })]), (sent) => textsTo(sent, admin))
const banned = "Sorry, this bot does not answer your messages."
const notAllowed = "Sorry, this bot is private: it answers only the people it was set up for."

describe("bans", () => {
  it.effect("a banned user gets one notice and no model call; /unban answers them again", () =>
    Effect.gen(function*() {
      expect(textsTo(yield* say(7), 7)).toEqual(["Answer 1."])
      expect(yield* inAdminChat("/ban 7 spam")).toEqual(["Banned 7: their messages are not answered."])
      const calls = (yield* modelRequests()).length
      expect(textsTo(yield* say(7), 7)).toEqual([banned])
      expect(textsTo(yield* say(7, "Hello again?"), 7)).toEqual([])
      expect((yield* modelRequests()).length).toBe(calls)
      // Others are answered.
      expect(textsTo(yield* say(8), 8)).toEqual(["Answer 2."])
      expect(yield* inAdminChat("/unban 7")).toEqual(["Unbanned 7."])
      expect(yield* inAdminChat("/unban 7")).toEqual(["7 was not banned."])
      expect(textsTo(yield* say(7), 7)).toEqual(["Answer 3."])
      // Banned again, the notice comes again (once).
      yield* inAdminChat("/ban 7")
      expect(textsTo(yield* say(7), 7)).toEqual([banned])
      expect(textsTo(yield* say(7), 7)).toEqual([])
    }).pipe(Effect.provide(testBot({ script: script(3), handoff: { adminChatId: Option.some(admin) } }))))

  it.effect("/ban and /unban: only in the admin chat, with a user id", () =>
    Effect.gen(function*() {
      expect(textsTo(yield* say(7, "/ban 8"), 7)).toEqual(["/ban is accepted in the admin chat only."])
      expect(textsTo(yield* say(7, "/unban 8"), 7)).toEqual(["/unban is accepted in the admin chat only."])
      expect(yield* inAdminChat("/ban")).toEqual(["Usage: /ban <user_id> [reason]"])
      expect(yield* inAdminChat("/ban someone")).toEqual(["Usage: /ban <user_id> [reason]"])
      expect(yield* inAdminChat("/unban")).toEqual(["Usage: /unban <user_id>"])
      expect(textsTo(yield* say(8), 8)).toEqual(["Answer 1."])
    }).pipe(Effect.provide(testBot({ script: script(1), handoff: { adminChatId: Option.some(admin) } }))))
})

describe("ALLOWED_USERS", () => {
  it.effect("anyone else gets the notAllowed notice once and never the model", () =>
    Effect.gen(function*() {
      expect(textsTo(yield* say(7), 7)).toEqual(["Answer 1."])
      expect(textsTo(yield* say(9), 9)).toEqual([notAllowed])
      expect(textsTo(yield* say(9), 9)).toEqual([])
      expect((yield* modelRequests()).length).toBe(3)
    }).pipe(Effect.provide(testBot({ script: script(1), usage: { allowedUsers: Option.some([7]) } }))))

  it.effect("the notice is kept in the store: a gate made again does not repeat it", () =>
    Effect.gen(function*() {
      const notAdmin = () => Effect.succeed(false)
      const user = 9 as TelegramId
      const first = yield* makeAccessGate(notAdmin)
      expect(yield* first.check(user, user)).toEqual({ _tag: "Refused", reason: "not-allowed", notice: Option.some(notAllowed) })
      const afterRestart = yield* makeAccessGate(notAdmin)
      expect(yield* afterRestart.check(user, user)).toEqual({ _tag: "Refused", reason: "not-allowed", notice: Option.none() })
      expect(yield* afterRestart.check(7 as TelegramId, 7 as TelegramId)).toEqual({ _tag: "Admitted" })
    }).pipe(Effect.provide(Layer.mergeAll(
      ConversationStateMemory,
      UsageConfig.make({ allowedUsers: Option.some([7]) }),
      BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie)
    ))))
})
