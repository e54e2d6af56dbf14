/**
 * The Stop button of a draft (Bot API 10.3) as the tests press it: a long answer streamed by
 * the fake model, the update Telegram sends when the button is pressed, and the drafts that
 * showed the answer's text.
 */
import { Effect } from "effect"
import { decodeUpdate } from "../../src/domain/Update.ts"
import type { DispatcherService } from "../../src/runtime/Dispatcher.ts"
import type { FakeBotApi, FakeCall } from "./FakeBotApi.ts"

/** A long answer in `count` pieces `word0 `, `word1 `…: streamed a few dozen ms apart, it is stopped long before its end. */
export const longAnswer = (count: number): ReadonlyArray<string> => Array.from({ length: count }, (_, i) => `word${i} `)

/** The update Telegram sends when the user presses Stop on draft `draftId` in a private chat. */
export const stopUpdate = (updateId: number, chatId: number, draftId: unknown) => ({
  update_id: updateId,
  stopped_message_generation: { chat: { id: chatId, type: "private", first_name: "Test" }, draft_id: draftId }
})

/** Hands an update (as Telegram sends it) to `dispatcher`, as the webhook would. */
export const submitTo = (dispatcher: DispatcherService, raw: unknown) =>
  Effect.gen(function*() {
    const json = JSON.stringify(raw)
    const update = yield* decodeUpdate(JSON.parse(json)).pipe(Effect.orDie)
    yield* dispatcher.submit({ json, update }).pipe(Effect.orDie)
  })

/** The drafts that showed answer text (not the placeholder), in order. */
export const answerDrafts = (calls: ReadonlyArray<FakeCall>) =>
  calls.filter((c) => c.method === "sendMessageDraft" && String(c.params["text"]).startsWith("word"))

/** Waits until the answer shows in two drafts (each draft call wakes the waiter; the text is checked); the drafts so far. */
export const answerShown = (api: FakeBotApi) =>
  Effect.gen(function*() {
    let drafts: ReadonlyArray<FakeCall> = []
    for (let n = 1; answerDrafts(drafts).length < 2; n++) drafts = yield* api.waitForCalls("sendMessageDraft", n)
    return drafts
  })
