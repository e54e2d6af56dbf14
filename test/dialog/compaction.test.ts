/**
 * History compaction with the scripted model over the fake Bot API: the messages that fall out
 * of the window are folded into a summary after the answer, kept in a SQLite file across a
 * restart, given to the model ahead of the recent messages instead of the folded ones, counted
 * in the ledger as the step `summary`, and cleared by /clear. A summary call that hangs delays
 * no answer and no shutdown; one that fails is folded again after the next turn.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import Database from "better-sqlite3"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Layer, Option, Ref } from "effect"
import { CompactionConfig } from "../../src/dialog/CompactionConfig.ts"
import { summaryHeading } from "../../src/dialog/prompts.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import { type CompletionRequest, LanguageModel } from "../../src/llm/LanguageModel.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { modelRequests, textMessage, turns } from "../../src/testing/index.ts"
import { conversationBot, type ConversationBotOptions, deliver } from "../support/ConversationBot.ts"
import { type FakeBotApi, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { eventually } from "../support/realTime.ts"

const sqliteFile = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "bot-compaction-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => join(dir, "bot.sqlite")))

const runBot = <A, E, R>(fake: FakeBotApi, options: ConversationBotOptions, body: Effect.Effect<A, E, R>, extra = Layer.empty) =>
  Effect.scoped(
    Effect.flatMap(Layer.build(Layer.provideMerge(conversationBot(fake, options), extra)), (context) => Effect.provide(body, context))
  )

const chat = 7301
let updateId = 930_000
/** The user's message with an update id of its own, growing. */
const said = (text: string) => textMessage({ userId: chat, text, firstName: "Ines", updateId: ++updateId })

/** The conversation's stored summary, once it reaches `upTo`. */
const summaryReaching = (upTo: number) =>
  eventually(
    Effect.flatMap(HistoryStore, (history) => history.summary(chat as TelegramId)),
    (summary) => Option.isSome(summary) && summary.value.upTo >= upTo
  ).pipe(Effect.map(Option.getOrThrow))

/** Every text of a request, one a line. */
const textOf = (request: CompletionRequest) => request.messages.map((m) => m.content ?? "").join("\n")

/** A general turn answered with `answer`. */
const answered = (answer: string) => ({ stage: "general", synthesize: answer })

describe("history compaction", () => {
  it.scoped("folds what falls out of the window after the answer; the summary survives a restart, replaces the folded messages, is counted and cleared", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const path = yield* sqliteFile
      const stores = StoresSqlite({ path, busyTimeout: Duration.seconds(5) }).pipe(Layer.orDie)
      const dialog = { historyLimit: 4 }
      const first = updateId + 1

      yield* runBot(fake, {
        stores,
        dialog,
        script: {
          ...turns(answered("Hello Ines!"), answered("The red bike is 450 EUR."), answered("Delivery takes 3 days."), answered("Yes, in blue too.")),
          summary: ["Ines asked about bikes.", "Ines likes the red bike (450 EUR)."]
        }
      }, Effect.gen(function*() {
        yield* deliver(said("Hi, I'm Ines"))
        // Two messages: the window of four is not full, nothing to fold.
        expect(yield* modelRequests("summary")).toEqual([])
        yield* deliver(said("How much is the red bike?"))
        // The window is full: its older half (the first update) is folded.
        expect(yield* summaryReaching(first)).toMatchObject({ text: "Ines asked about bikes.", upTo: first })
        yield* deliver(said("How long is delivery?"))
        expect(yield* summaryReaching(first + 1)).toMatchObject({ text: "Ines likes the red bike (450 EUR).", upTo: first + 1 })
        yield* deliver(said("Is it there in blue?"))
        // Nothing more scripted: the third fold is the extractive one.
        expect((yield* summaryReaching(first + 2)).text).toContain("How long is delivery?")
        const [fold1, fold2] = yield* modelRequests("summary")
        expect(textOf(fold1!)).toContain("Summary so far:\n(none)")
        expect(textOf(fold1!)).toContain("User: Hi, I'm Ines\nAssistant: Hello Ines!")
        expect(textOf(fold1!)).not.toContain("red bike")
        // The next fold starts from the summary so far and takes only what fell out since.
        expect(textOf(fold2!)).toContain("Summary so far:\nInes asked about bikes.")
        expect(textOf(fold2!)).toContain("User: How much is the red bike?\nAssistant: The red bike is 450 EUR.")
        expect(textOf(fold2!)).not.toContain("Hi, I'm Ines")
        expect(yield* fake.sentTexts(chat)).toHaveLength(4)
      }))

      // The folds' tokens are in the ledger, a step of their own, on the turns that started them.
      const db = new Database(path, { readonly: true })
      const summarySteps = db.prepare("SELECT update_id, model, prompt_tokens FROM usage_entries WHERE stage = 'summary' ORDER BY update_id").all()
      db.close()
      expect(summarySteps.slice(0, 2)).toEqual([
        { update_id: first + 1, model: "scripted", prompt_tokens: 10 },
        { update_id: first + 2, model: "scripted", prompt_tokens: 10 }
      ])
      expect(summarySteps.map((step) => (step as { update_id: number }).update_id)).toEqual([first + 1, first + 2, first + 3])

      // Another process on the same file: the prompt has the summary, not the folded messages.
      yield* runBot(fake, { stores, dialog, script: turns(answered("It is."), answered("Hello again!")) }, Effect.gen(function*() {
        yield* deliver(said("Can I pick it up?"))
        const [think] = yield* modelRequests("think")
        const opening = think!.messages[1]
        expect(opening?.role).toBe("system")
        expect(opening?.content).toContain(`${summaryHeading}\n`)
        expect(opening?.content).toContain("How long is delivery?")
        const prompt = textOf(think!)
        expect(prompt).not.toContain("Hi, I'm Ines")
        expect(prompt).not.toContain("How much is the red bike?")
        // The folded turn is in the summary only, not among the messages after it.
        expect(think!.messages.slice(2).map((m) => m.content ?? "").join("\n")).not.toContain("How long is delivery?")
        expect(prompt).toContain("Is it there in blue?")
        expect(prompt).toContain("Yes, in blue too.")
        // In every stage's prompt, right after its opening system message.
        for (const request of [...yield* modelRequests("classify"), ...yield* modelRequests("synthesize")]) {
          expect(request.messages[1]?.content).toContain(summaryHeading)
        }

        // Turn 5's fold (extractive: nothing scripted) is done before /clear, which takes it away.
        expect((yield* summaryReaching(first + 3)).text).toContain("Is it there in blue?")
        yield* deliver(said("/clear"))
        expect(yield* Effect.flatMap(HistoryStore, (history) => history.summary(chat as TelegramId))).toEqual(Option.none())
        yield* deliver(said("Hi"))
        const [, again] = yield* modelRequests("think")
        expect(textOf(again!)).not.toContain(summaryHeading)
        expect(textOf(again!)).not.toContain("red bike")
      }))
    }))

  it.scoped("a summary call that hangs delays neither the answers nor the shutdown; a failed one is folded again after the next turn", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      // The n-th summary call waits for gates[n] (and says it started); the third one never returns.
      const gates = [yield* Deferred.make<void>(), yield* Deferred.make<void>(), yield* Deferred.make<void>()] as const
      const started = [yield* Deferred.make<void>(), yield* Deferred.make<void>(), yield* Deferred.make<void>()] as const
      yield* Deferred.succeed(gates[1], undefined)
      const calls = yield* Ref.make(0)
      const latched = Layer.effect(
        LanguageModel,
        Effect.map(LanguageModel, (scripted) => ({
          ...scripted,
          complete: (request: CompletionRequest) =>
            request.purpose === "summary"
              ? Effect.flatMap(Ref.getAndUpdate(calls, (n) => n + 1), (n) =>
                Effect.zipRight(Effect.zipRight(Deferred.succeed(started[n]!, undefined), Deferred.await(gates[n]!)), scripted.complete(request)))
              : scripted.complete(request)
        }))
      )
      const first = updateId + 1
      yield* runBot(fake, {
        model: latched,
        dialog: { historyLimit: 2 },
        script: {
          ...turns(answered("A1"), answered("A2"), answered("A3"), answered("A4"), answered("A5")),
          summary: [{ fail: "endpoint down" }, "Q1 to Q3 were asked."]
        }
      }, Effect.gen(function*() {
        yield* deliver(said("Q1"))
        yield* deliver(said("Q2"))
        // The fold of Q1 waits for its gate; the answers go out meanwhile.
        yield* Deferred.await(started[0])
        yield* deliver(said("Q3"))
        expect(yield* fake.sentTexts(chat)).toEqual(["A1", "A2", "A3"])
        // One fold at a time per conversation: Q3's turn started none.
        expect(yield* Ref.get(calls)).toBe(1)

        // Let through, the fold fails (scripted): no summary, and no turn failed by it.
        yield* Deferred.succeed(gates[0], undefined)
        yield* eventually(modelRequests("summary"), (requests) => requests.length === 1)
        expect(yield* Effect.flatMap(HistoryStore, (history) => history.summary(chat as TelegramId))).toEqual(Option.none())
        yield* deliver(said("Q4"))
        // Q4's turn folds again from where the stored summary reaches (nowhere): Q1 to Q3.
        const summary = yield* summaryReaching(first + 2)
        expect(summary).toMatchObject({ text: "Q1 to Q3 were asked.", upTo: first + 2 })
        const [, retry] = yield* modelRequests("summary")
        expect(textOf(retry!)).toContain("User: Q1\nAssistant: A1\nUser: Q2\nAssistant: A2\nUser: Q3\nAssistant: A3")

        // The next fold hangs for good; the answer is out, and the bot shuts down all the same.
        yield* deliver(said("Q5"))
        yield* Deferred.await(started[2])
        expect(yield* fake.sentTexts(chat)).toEqual(["A1", "A2", "A3", "A4", "A5"])
      }))
      expect(yield* Deferred.isDone(gates[2])).toBe(false)
    }))

  it.scoped("COMPACTION=off folds nothing and puts no summary in the prompt", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* runBot(
        fake,
        { dialog: { historyLimit: 2 }, script: turns(answered("A1"), answered("A2"), answered("A3"), answered("A4")) },
        Effect.gen(function*() {
          for (const question of ["Q1", "Q2", "Q3", "Q4"]) yield* deliver(said(question))
          expect(yield* modelRequests("summary")).toEqual([])
          const think = (yield* modelRequests("think")).at(-1)!
          expect(textOf(think)).not.toContain(summaryHeading)
          expect(textOf(think)).not.toContain("Q1")
        }),
        CompactionConfig.make({ enabled: false })
      )
    }))
})
