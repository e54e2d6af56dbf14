/**
 * Settings of Telegram Stars: the pack `/buy` sells (`STARS_PACK=<stars>:<tokens>`), the monthly
 * plan (`STARS_SUBSCRIPTION=<stars>:<tokens per 30 days>`), and the key that signs invoice
 * payloads (`STARS_PAYLOAD_SECRET`; unset, a key made at start signs them, and invoices sent
 * before a restart are refused at pre-checkout).
 */
import { randomBytes } from "node:crypto"
import { Config, Option, Redacted } from "effect"
import { Settings } from "../config.ts"

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

export const PaymentsConfigSchema = Config.all({
  /** What `/buy` sells; none: Stars are off. */
  pack: pack("STARS_PACK"),
  /** A monthly plan: stars per 30 days for tokens per 30 days; none: no plan. */
  subscription: pack("STARS_SUBSCRIPTION"),
  /** Signs invoice payloads (HMAC-SHA256). */
  payloadSecret: Config.redacted("STARS_PAYLOAD_SECRET").pipe(
    Config.withDefault(Redacted.make(randomBytes(32).toString("hex")))
  )
})
export type PaymentsConfigShape = Config.Config.Success<typeof PaymentsConfigSchema>

export class PaymentsConfig extends Settings<PaymentsConfig>()("dialog-bot/PaymentsConfig", PaymentsConfigSchema) {}
