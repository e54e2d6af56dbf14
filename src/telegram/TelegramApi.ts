/**
 * The Telegram Bot API as the bot sees it: one generic `call` that every method goes through,
 * and the typed methods the bot uses, defined once over it (`BotApiMethods.ts`).
 *
 * An implementation supplies only a `Transport` — one raw call answering the JSON `result`:
 * the HTTP client (`TelegramHttp.ts`), the recorder and the console sink
 * (`TelegramRecorder.ts`) — and `fromTransport` (`BotApiCall.ts`) adds what every call needs:
 * decoding, spans and metrics, token scrubbing, and, per call, the retry policy, the throttle
 * and an attempt hook. What a call and a transport are, and their errors, is in `BotApiProtocol.ts`.
 */
import { Context } from "effect"
import type { BotApiCall } from "./BotApiProtocol.ts"
import type { BotApiMethods } from "./BotApiMethods.ts"

export {
  type BotApiCall,
  type BotApiParams,
  type CallOptions,
  type RetrySettings,
  TelegramApiError,
  type TelegramError,
  TelegramTransportError,
  type Transport
} from "./BotApiProtocol.ts"

export {
  BotUser,
  type CommandMenu,
  type EditInlineText,
  type EditMessageText,
  type GetUpdates,
  type InlineAnswer,
  type InlineArticle,
  type MessageDraft,
  type MessageReaction,
  ParseMode,
  type PolledUpdate,
  type SendMessage,
  SentGuestMessage,
  SentMessage,
  type SetWebhook,
  TelegramFile,
  WebhookInfo
} from "./BotApiMethods.ts"

export interface TelegramApiService extends BotApiMethods {
  /** Any Bot API method; the typed methods are this with their parameters and result schema. */
  readonly call: BotApiCall
}

export class TelegramApi extends Context.Tag("dialog-bot/TelegramApi")<TelegramApi, TelegramApiService>() {}
