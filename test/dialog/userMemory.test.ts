/**
 * The user's memory with the scripted model over the fake Bot API, on a SQLite file across a
 * restart: the model keeps a fact with `remember`, the next process puts it into that user's
 * prompt only, `/memory` shows it, `forget` and `/forget` drop it; the cap holds.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { type CompletionRequest, modelRequests, textMessage, toolResults, turns } from "../../src/testing/index.ts"
import { maxFacts } from "../../src/tools/builtin/userMemory.ts"
import { conversationBot, type ConversationBotOptions, deliver, editedProfile } from "../support/ConversationBot.ts"
import { type FakeBotApi, makeFakeBotApi } from "../support/FakeBotApi.ts"

const sqliteFile = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "bot-memory-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => join(dir, "bot.sqlite")))

/** The shop's profile with `remember` and `forget` in its general stage. */
const rememberingProfile = editedProfile((shop) => ({
  ...shop,
  stages: (shop["stages"] as ReadonlyArray<Record<string, unknown>>).map((stage) =>
    stage["id"] === "general" ? { ...stage, tools: [...(stage["tools"] as ReadonlyArray<string>), "remember", "forget"] } : stage
  )
}))

const runBot = <A, E, R>(fake: FakeBotApi, options: ConversationBotOptions, body: Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.flatMap(Layer.build(conversationBot(fake, options)), (context) => Effect.provide(body, context)))

const said = (userId: number, text: string) => textMessage({ userId, text, firstName: "Ines" })
/** The system texts of a request after its opening one: the turn's facts. */
const turnFacts = (request: CompletionRequest) =>
  request.messages.slice(1).filter((m) => m.role === "system").map((m) => m.content).join("\n")

describe("user memory", () => {
  it.scoped("remembered in one process, in that user's prompt only after a restart, shown, forgotten", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const profile = yield* rememberingProfile
      const stores = StoresSqlite({ path: yield* sqliteFile, busyTimeout: Duration.seconds(5) }).pipe(Layer.orDie)
      const tooMany = Array.from({ length: maxFacts }, (_, i) => ({ name: "remember", arguments: { fact: `fact ${i}` } }))

      yield* runBot(fake, {
        stores,
        profile,
        script: turns(
          {
            stage: "general",
            think: [{ toolCalls: [{ name: "remember", arguments: { fact: "Is vegetarian" } }] }, "noted"],
            synthesize: "I'll remember that."
          },
          { stage: "general", think: [{ toolCalls: tooMany }, "full"], synthesize: "Some of it." }
        )
      }, Effect.gen(function*() {
        yield* deliver(said(7201, "I'm vegetarian, please remember that"))
        yield* deliver(said(7203, "Remember all of these"))
        // Ines's two think calls, then the other user's: 20 facts fit.
        const results = toolResults((yield* modelRequests("think"))[3]!)
        expect(results).toHaveLength(maxFacts)
        expect(results.filter((r) => JSON.stringify(r.content).includes("memory is full"))).toHaveLength(0)
      }))

      yield* runBot(fake, {
        stores,
        profile,
        script: turns(
          { stage: "general", synthesize: "Try a mushroom risotto." },
          { stage: "general", synthesize: "Hello!" },
          {
            stage: "general",
            think: [{ toolCalls: [{ name: "remember", arguments: { fact: "one too many" } }] }, "full"],
            synthesize: "My memory is full."
          },
          { stage: "general", think: [{ toolCalls: [{ name: "forget", arguments: { about: "VEGETARIAN" } }] }, "done"], synthesize: "Forgotten." }
        )
      }, Effect.gen(function*() {
        // One at a time: different chats run in parallel.
        yield* deliver(said(7201, "What should I cook tonight?"))
        yield* deliver(said(7202, "Hi"))
        yield* deliver(said(7203, "And this one"))
        const [ines, other, full] = yield* modelRequests("think")
        expect(turnFacts(ines!)).toContain("Remembered about this customer (remember, forget):\n- Is vegetarian")
        expect(turnFacts(other!)).not.toContain("Is vegetarian")
        expect(turnFacts(other!)).not.toContain("Remembered about")
        const refused = toolResults((yield* modelRequests("think"))[3]!)
        expect(JSON.stringify(refused[0]?.content)).toContain(`memory is full (${maxFacts} facts)`)
        expect(turnFacts(full!)).toContain(`- fact ${maxFacts - 1}`)

        yield* deliver(said(7201, "/memory"))
        yield* deliver(said(7202, "/memory"))
        expect((yield* fake.sentTexts(7201)).at(-1)).toBe("What I remember about you:\n- Is vegetarian")
        expect((yield* fake.sentTexts(7202)).at(-1)).toBe("I don't remember anything about you yet.")

        yield* deliver(said(7201, "Forget that I'm vegetarian"), said(7201, "/memory"))
        expect((yield* fake.sentTexts(7201)).at(-1)).toBe("I don't remember anything about you yet.")
        yield* deliver(said(7203, "/forget"), said(7203, "/memory"))
        expect((yield* fake.sentTexts(7203)).slice(-2)).toEqual([
          `Done: I have forgotten what I remembered about you (${maxFacts}).`,
          "I don't remember anything about you yet."
        ])
      }))
    }))
})
