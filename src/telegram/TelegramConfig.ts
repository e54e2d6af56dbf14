/**
 * Settings of the Telegram edge: the Bot API client, long polling and the webhook server.
 * The bot token and the webhook secret are `Redacted`: they print as `<redacted>`.
 */
import { Config, ConfigError, Effect, Either, Layer, Option, Redacted } from "effect"
import { duration, integerIn, Settings } from "../config.ts"

/**
 * The update kinds the bot acts on: Telegram's default leaves out `message_reaction` (the
 * feedback users give on answers), so the bot asks for its kinds by name. Guest messages and
 * inline queries come only when switched on in BotFather (docs/features.md#guest-and-inline-mode).
 */
export const botUpdateKinds: ReadonlyArray<string> = [
  "message", "edited_message", "callback_query", "my_chat_member", "pre_checkout_query",
  "business_connection", "business_message", "edited_business_message", "deleted_business_messages", "message_reaction", "subscription",
  "stopped_message_generation", "guest_message", "inline_query", "chosen_inline_result"
]

/**
 * Update kinds the bot asks for whatever the list says: the Stop button of a draft
 * (`stopped_message_generation`) does nothing unless its update comes.
 */
export const requiredUpdateKinds: ReadonlyArray<string> = ["stopped_message_generation"]

/**
 * Update kinds to ask Telegram for, comma-separated (`message,callback_query`), with the
 * required kinds added; the bot's kinds when not set.
 */
const allowedUpdates = Config.string("TELEGRAM_ALLOWED_UPDATES").pipe(
  Config.map((value) => {
    const kinds = value.split(",").map((kind) => kind.trim()).filter((kind) => kind.length > 0)
    // An empty list is Telegram's default, which has them.
    return kinds.length === 0 ? kinds : [...kinds, ...requiredUpdateKinds.filter((kind) => !kinds.includes(kind))]
  }),
  Config.option,
  Config.map(Option.orElseSome(() => botUpdateKinds))
)

/** `TELEGRAM_ALLOWED_UPDATES`, which long polling and the webhook both ask Telegram for. */
export class AllowedUpdates extends Settings<AllowedUpdates>()("dialog-bot/AllowedUpdates", Config.all({ kinds: allowedUpdates })) {}

/** The bot token from @BotFather (`TelegramConfig.token`; the commands read it to choose a mode). */
export const BotToken = Config.redacted("TELEGRAM_BOT_TOKEN").pipe(
  Config.validate({
    message: "TELEGRAM_BOT_TOKEN must look like 123456:ABC-… (no spaces or slashes)",
    validation: (token) => /^[0-9]+:[A-Za-z0-9_-]+$/.test(Redacted.value(token))
  })
)

export const TelegramConfigSchema = Config.all({
  /** The bot token from @BotFather. */
  token: BotToken,
  /** Bot API server (a local `telegram-bot-api` server works too). */
  apiBaseUrl: Config.string("TELEGRAM_API_BASE_URL").pipe(
    Config.withDefault("https://api.telegram.org"),
    Config.validate({
      message: "TELEGRAM_API_BASE_URL must be an http(s) URL",
      validation: (url) => /^https?:\/\/[^\s]+$/.test(url)
    })
  ),
  /** Deadline of one Bot API call (getUpdates: the long-poll timeout plus this). */
  requestTimeout: duration("TELEGRAM_REQUEST_TIMEOUT", "15 seconds")
})
export type TelegramConfigShape = Config.Config.Success<typeof TelegramConfigSchema>

export class TelegramConfig extends Settings<TelegramConfig>()("dialog-bot/TelegramConfig", TelegramConfigSchema, {
  TELEGRAM_BOT_TOKEN: "0:placeholder"
}) {
  /** A client of the Bot API at `apiBaseUrl` with the given token (tests). */
  static readonly forToken = (
    token: string,
    overrides: Partial<Omit<TelegramConfigShape, "token">> = {}
  ): Layer.Layer<TelegramConfig> => TelegramConfig.make({ token: Redacted.make(token), ...overrides })
}

export const PollConfigSchema = Config.all({
  /** Long-poll timeout of getUpdates, in seconds (Telegram holds the request this long). */
  timeoutSeconds: integerIn("TELEGRAM_POLL_TIMEOUT", 30, 0, 50),
  /** Updates asked for per getUpdates call. */
  limit: integerIn("TELEGRAM_POLL_LIMIT", 100, 1, 100),
  /** First backoff after a failed getUpdates (doubles, with jitter, up to `backoffMax`). */
  backoffBase: duration("TELEGRAM_POLL_BACKOFF_BASE", "1 second"),
  backoffMax: duration("TELEGRAM_POLL_BACKOFF_MAX", "30 seconds"),
  allowedUpdates
})
export type PollConfigShape = Config.Config.Success<typeof PollConfigSchema>

export class PollConfig extends Settings<PollConfig>()("dialog-bot/PollConfig", PollConfigSchema) {}

/** Telegram accepts 1–256 characters `A-Z a-z 0-9 _ -` as a webhook secret. */
const secretPattern = /^[A-Za-z0-9_-]{1,256}$/

/** Public HTTPS URL Telegram posts updates to (`webhook set`); its presence selects the webhook mode. */
export const WebhookUrl = Config.option(
  Config.string("WEBHOOK_URL").pipe(
    Config.validate({ message: "WEBHOOK_URL must be an https URL", validation: (url) => /^https:\/\/[^\s]+$/.test(url) })
  )
)

export const WebhookConfigSchema = Config.all({
  url: WebhookUrl,
  /** Path the server accepts updates on. */
  path: Config.string("WEBHOOK_PATH").pipe(
    Config.withDefault("/telegram/webhook"),
    Config.validate({ message: "WEBHOOK_PATH must start with / and contain no spaces", validation: (p) => /^\/\S*$/.test(p) })
  ),
  /** Shared secret Telegram sends in X-Telegram-Bot-Api-Secret-Token. */
  secret: Config.option(
    Config.redacted("WEBHOOK_SECRET").pipe(
      Config.validate({
        message: "WEBHOOK_SECRET must be 1-256 characters A-Z, a-z, 0-9, _ or -",
        validation: (secret) => secretPattern.test(Redacted.value(secret))
      })
    )
  ),
  /** Allows a server without a secret (local testing only). */
  allowNoSecret: Config.boolean("WEBHOOK_ALLOW_NO_SECRET").pipe(Config.withDefault(false)),
  host: Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
  port: integerIn("PORT", 8080, 0, 65535),
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: integerIn("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
  /** Connections Telegram opens at most (`webhook set`). */
  maxConnections: integerIn("WEBHOOK_MAX_CONNECTIONS", 40, 1, 100),
  /** Whether `webhook set` drops the updates waiting at Telegram. */
  dropPendingUpdates: Config.boolean("WEBHOOK_DROP_PENDING_UPDATES").pipe(Config.withDefault(false)),
  allowedUpdates
})
export type WebhookConfigShape = Config.Config.Success<typeof WebhookConfigSchema>

/** Whether `text` contains the bot token, or its secret half (the part after the colon). */
export const containsToken = (text: string, token: Redacted.Redacted<string>): boolean => {
  const value = Redacted.value(token)
  const secretHalf = value.slice(value.indexOf(":") + 1)
  return text.includes(value) || text.includes(encodeURIComponent(value)) ||
    (secretHalf.length >= 8 && text.includes(secretHalf))
}

/**
 * The webhook settings checked against the token: a path or URL with the token in it is
 * refused (the token would end up in proxies' access logs).
 */
export const checkWebhookAgainstToken = (
  webhook: WebhookConfigShape,
  token: Redacted.Redacted<string>
): Either.Either<WebhookConfigShape, ConfigError.ConfigError> => {
  if (containsToken(webhook.path, token)) {
    return Either.left(ConfigError.InvalidData(["WEBHOOK_PATH"], "WEBHOOK_PATH must not contain the bot token; use a path of your own and WEBHOOK_SECRET"))
  }
  if (Option.isSome(webhook.url) && containsToken(webhook.url.value, token)) {
    return Either.left(ConfigError.InvalidData(["WEBHOOK_URL"], "WEBHOOK_URL must not contain the bot token; use a path of your own and WEBHOOK_SECRET"))
  }
  return Either.right(webhook)
}

/** The webhook settings from the environment, checked against the token. */
export const webhookConfigChecked = Effect.flatMap(
  Effect.all([WebhookConfigSchema, BotToken]),
  ([webhook, token]) => checkWebhookAgainstToken(webhook, token)
)

class WebhookSettings extends Settings<WebhookConfig>()("dialog-bot/WebhookConfig", WebhookConfigSchema) {}

export class WebhookConfig extends WebhookSettings {
  /** From the environment, checked against `TELEGRAM_BOT_TOKEN` (a path or URL with the token is refused). */
  static override readonly fromEnv: Layer.Layer<WebhookConfig, ConfigError.ConfigError> = Layer.effect(
    WebhookSettings,
    webhookConfigChecked
  )
  /** The defaults with `overrides` on top, listening on 127.0.0.1 at a free port (tests). */
  static override readonly make = (overrides: Partial<WebhookConfigShape> = {}): Layer.Layer<WebhookConfig> =>
    WebhookSettings.make({ host: "127.0.0.1", port: 0, ...overrides })
}
