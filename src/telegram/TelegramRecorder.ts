/**
 * Offline stand-ins for the Bot API: a recorder that keeps every call in memory (tests,
 * replay) and a console sink that prints the bot's messages (interactive chat). Both are
 * transports of the one call path, so they record any method the same way: its name, its
 * parameters as they would go on the wire, and the update being handled.
 */
import { Clock, Console, Context, Effect, FiberRef, Layer, Option } from "effect"
import { CurrentUpdateId } from "../domain/CurrentUpdate.ts"
import type { TelegramId } from "../domain/Update.ts"
import { fromTransport } from "./BotApiCall.ts"
import { sendMessageOf } from "./BotApiMethods.ts"
import {
  type BotApiParams,
  type SendMessage,
  TelegramApi,
  TelegramApiError,
  type TelegramApiService,
  type TelegramError,
  type Transport
} from "./TelegramApi.ts"

/** One call, in the order made: the method, its parameters and the update it was made for. */
export interface RecordedCall {
  readonly method: string
  readonly params: BotApiParams
  readonly updateId: Option.Option<TelegramId>
}

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
  /** Results by method, instead of the defaults (`true` for a method without one). */
  readonly results?: Readonly<Record<string, unknown>>
}

const botUser = { id: 7000000001, is_bot: true, first_name: "DialogBot", username: "dialog_demo_bot" } as const

/** What the recorder answers by default, by method; `true` for the others (as Telegram does for most). */
const defaultResults: Readonly<Record<string, unknown>> = {
  getMe: botUser,
  getUpdates: [],
  getWebhookInfo: { url: "", pending_update_count: 0 }
}

/** The rich message methods (Bot API 10.1), which the recorder does not have. */
const richMethods: ReadonlySet<string> = new Set(["sendRichMessage", "sendRichMessageDraft"])

export const makeRecorder = (options: RecorderOptions = {}) =>
  Effect.gen(function*() {
    // Appended in place: a replay of many updates records many calls.
    const calls: Array<RecordedCall> = []
    let messageId = 0
    const results = { ...defaultResults, ...options.results }
    const transport: Transport = (method, params) =>
      Effect.gen(function*() {
        const message = method === "sendMessage" ? sendMessageOf(params) : Option.none()
        if (Option.isSome(message) && options.onSend) yield* options.onSend(message.value)
        const updateId = yield* FiberRef.get(CurrentUpdateId)
        calls.push({ method, params, updateId })
        if (Option.isSome(message) && options.echo) yield* options.echo(message.value)
        if (method in results) return results[method]
        // The offline stand-ins show text and entities only: no rich messages, as a Bot API before 10.1.
        if (richMethods.has(method)) {
          return yield* Effect.fail(new TelegramApiError({ method, errorCode: 404, description: "Not Found: method not found" }))
        }
        // A topic's thread id and a copy's id are message ids, as Telegram gives them.
        if (method === "createForumTopic") return { message_thread_id: ++messageId, name: params["name"] }
        if (method === "copyMessage") return { message_id: ++messageId }
        // A guest answer is an inline message: edited later by this id.
        if (method === "answerGuestQuery") return { inline_message_id: `guest-${++messageId}` }
        if (method !== "sendMessage") return true
        messageId++
        const date = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        // An ephemeral message (Bot API 10.2) is answered with an id of its own, its message_id 0.
        if (params["ephemeral_message_parameters"] !== undefined) return { message_id: 0, ephemeral_message_id: messageId, date }
        return { message_id: messageId, date }
      })
    const api: TelegramApiService = fromTransport(transport)
    const recorder: TelegramRecorderService = {
      calls: Effect.sync(() => [...calls]),
      sent: Effect.sync(() =>
        calls.flatMap((call) =>
          call.method === "sendMessage"
            ? Option.match(sendMessageOf(call.params), {
              onNone: () => [],
              onSome: (message): Array<SentRecord> => [{ ...message, updateId: call.updateId }]
            })
            : []
        )
      ),
      clear: Effect.sync(() => void calls.splice(0))
    }
    return { api, recorder }
  })

/** The recorder: provides both `TelegramApi` and `TelegramRecorder` (to read what was sent). */
export const TelegramApiRecorder = (options: RecorderOptions = {}) =>
  Layer.effectContext(
    Effect.map(makeRecorder(options), ({ api, recorder }) =>
      Context.make(TelegramApi, api).pipe(Context.add(TelegramRecorder, recorder)))
  )

/** Prints every message the bot sends to stdout (the `chat` command); records like the recorder. */
export const TelegramApiConsole = TelegramApiRecorder({
  echo: (message) => Console.log(`\n🤖 ${message.text}\n`)
})
