/**
 * Settings of Telegram Stars: the pack `/buy` sells (`STARS_PACK=<stars>:<tokens>`), the monthly
 * plan (`STARS_SUBSCRIPTION=<stars>:<tokens per 30 days>`), and the key that signs invoice
 * payloads (`STARS_PAYLOAD_SECRET`). Unset, the key is derived from the bot token
 * (HMAC-SHA256 of `TELEGRAM_BOT_TOKEN`, read through `TelegramConfig`'s own `Config`, with a
 * fixed label), so an invoice sent before a restart or by another replica still verifies, and
 * a new token (a revoked one replaced) voids the old invoices. Without a token either (the
 * local chat), a key made at start signs them.
 */
import { createHmac, randomBytes } from "node:crypto"
import { Config, Option, Redacted } from "effect"
import { Settings } from "../config.ts"
import { BotToken } from "../telegram/TelegramConfig.ts"

export interface Pack {
  readonly stars: number
  readonly tokens: number
}

const pack = (name: string): Config.Config<Option.Option<Pack>> =>
  Config.option(Config.string(name)).pipe(
    Config.map(Option.flatMap((text): Option.Option<Pack | undefined> => {
      if (text.trim() === "") return Option.none()
      const match = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(text)
      const stars = Number(match?.[1])
      const tokens = Number(match?.[2])
      const valid = match !== null && stars >= 1 && stars <= 100_000 && tokens >= 1 && Number.isSafeInteger(tokens)
      return Option.some(valid ? { stars, tokens } : undefined)
    })),
    Config.validate({
      message: `${name} must be <stars>:<tokens>, e.g. 50:100000 (1 to 100000 stars)`,
      validation: (parsed) => Option.isNone(parsed) || parsed.value !== undefined
    }),
    Config.map(Option.flatMap(Option.fromNullable))
  )

/** The label the payload key is derived under; changing it voids every invoice out there. */
const payloadKeyLabel = "dialog-bot/stars-payload/v1"

/** The payload key when neither a secret nor a token is set: one per process. */
const keyOfThisProcess = Redacted.make(randomBytes(32).toString("hex"))

/** The payload key derived from a bot token: the same for every process with that token. */
export const payloadKeyOf = (token: Redacted.Redacted<string>): Redacted.Redacted<string> =>
  Redacted.make(createHmac("sha256", Redacted.value(token)).update(payloadKeyLabel).digest("hex"))

export const PaymentsConfigSchema = Config.all({
  /** What `/buy` sells; none: Stars are off. */
  pack: pack("STARS_PACK"),
  /** A monthly plan: stars per 30 days for tokens per 30 days; none: no plan. */
  subscription: pack("STARS_SUBSCRIPTION"),
  /** Signs invoice payloads (HMAC-SHA256): `STARS_PAYLOAD_SECRET`, else derived from the bot token. */
  payloadSecret: Config.all([
    Config.option(Config.redacted("STARS_PAYLOAD_SECRET")).pipe(
      Config.map(Option.filter((secret) => Redacted.value(secret).trim() !== ""))
    ),
    // A malformed token is TelegramConfig's to report (the local chat needs none): no key from it.
    Config.option(BotToken).pipe(Config.orElse(() => Config.succeed(Option.none())))
  ]).pipe(
    Config.map(([secret, token]) =>
      Option.getOrElse(Option.orElse(secret, () => Option.map(token, payloadKeyOf)), () => keyOfThisProcess)
    )
  )
})
export type PaymentsConfigShape = Config.Config.Success<typeof PaymentsConfigSchema>

export class PaymentsConfig extends Settings<PaymentsConfig>()("dialog-bot/PaymentsConfig", PaymentsConfigSchema) {}
