/**
 * Offline stand-ins for the Bot API: a recorder that keeps every call in memory (tests,
 * replay) and a console sink that prints the bot's messages (interactive chat).
 */
import { Clock, Console, Context, Effect, FiberRef, Layer, type Option, Ref } from "effect"
import { CurrentUpdateId } from "../domain/CurrentUpdate.ts"
import type { TelegramId } from "../domain/Update.ts"
import { type SendMessage, TelegramApi, type TelegramApiService, type TelegramError } from "./TelegramApi.ts"

export type RecordedCall =
  | { readonly method: "sendMessage"; readonly message: SendMessage; readonly updateId: Option.Option<TelegramId> }
  | { readonly method: "sendChatAction"; readonly chatId: TelegramId; readonly action: string }
  | { readonly method: "answerCallbackQuery"; readonly id: string; readonly text?: string | undefined }
  | { readonly method: "setWebhook" | "deleteWebhook" | "getWebhookInfo" | "getMe" | "getUpdates" }

export interface SentRecord extends SendMessage {
  readonly updateId: Option.Option<TelegramId>
}

export interface TelegramRecorderService {
  /** Every call, in the order made. */
  readonly calls: Effect.Effect<ReadonlyArray<RecordedCall>>
  /** The messages sent, in the order sent, with the update each answers (when sent by the dispatcher). */
  readonly sent: Effect.Effect<ReadonlyArray<SentRecord>>
  readonly clear: Effect.Effect<void>
}

export class TelegramRecorder extends Context.Tag("dialog-bot/TelegramRecorder")<TelegramRecorder, TelegramRecorderService>() {}

export interface RecorderOptions {
  /** Decides the outcome of each send (e.g. fail with a 403 for a blocked chat); succeeds by default. */
  readonly onSend?: (message: SendMessage) => Effect.Effect<void, TelegramError>
  /** Called with each message sent, after it is recorded (the console sink prints it). */
  readonly echo?: (message: SendMessage) => Effect.Effect<void>
}

const botUser = { id: 7000000001, is_bot: true, first_name: "DialogBot", username: "dialog_demo_bot" } as const

export const makeRecorder = (options: RecorderOptions = {}) =>
  Effect.gen(function*() {
    // Appended in place: a replay of many updates records many calls.
    const calls: Array<RecordedCall> = []
    const counter = yield* Ref.make(0)
    const record = (call: RecordedCall) => Effect.sync(() => void calls.push(call))
    const api: TelegramApiService = {
      getMe: Effect.as(record({ method: "getMe" }), botUser),
      sendMessage: (message) =>
        Effect.gen(function*() {
          if (options.onSend) yield* options.onSend(message)
          const updateId = yield* FiberRef.get(CurrentUpdateId)
          yield* record({ method: "sendMessage", message, updateId })
          if (options.echo) yield* options.echo(message)
          const id = yield* Ref.updateAndGet(counter, (n) => n + 1)
          return { message_id: id, date: Math.floor((yield* Clock.currentTimeMillis) / 1000) }
        }),
      sendChatAction: (chatId, action) => record({ method: "sendChatAction", chatId, action }),
      answerCallbackQuery: (id, text) => record({ method: "answerCallbackQuery", id, text }),
      getUpdates: () => Effect.as(record({ method: "getUpdates" }), []),
      setWebhook: () => record({ method: "setWebhook" }),
      deleteWebhook: () => record({ method: "deleteWebhook" }),
      getWebhookInfo: Effect.as(record({ method: "getWebhookInfo" }), { url: "", pending_update_count: 0 })
    }
    const recorder: TelegramRecorderService = {
      calls: Effect.sync(() => [...calls]),
      sent: Effect.sync(() =>
        calls.flatMap((call) => (call.method === "sendMessage" ? [{ ...call.message, updateId: call.updateId }] : []))),
      clear: Effect.sync(() => void calls.splice(0))
    }
    return { api, recorder }
  })

/** The recorder: provides both `TelegramApi` and `TelegramRecorder` (to read what was sent). */
export const TelegramRecorderLayer = (options: RecorderOptions = {}) =>
  Layer.effectContext(
    Effect.map(makeRecorder(options), ({ api, recorder }) =>
      Context.make(TelegramApi, api).pipe(Context.add(TelegramRecorder, recorder)))
  )

/** Prints every message the bot sends to stdout (the `chat` command). */
export const TelegramConsole = TelegramRecorderLayer({
  echo: (message) => Console.log(`\n🤖 ${message.text}\n`)
})
