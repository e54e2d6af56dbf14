/**
 * Tools of the fault suites: a seeded random source, a store that fails every call in a time
 * window, and a load generator that posts updates to a webhook the way Telegram does (one
 * chat's updates in order, each repeated until it is acknowledged with 200).
 */
import { HttpServer } from "@effect/platform"
import { Context, Effect, Layer, Option, Redacted, Scope } from "effect"
import { StoreError } from "../../src/domain/errors.ts"
import { mapStores } from "../../src/store/Instrumented.ts"
import { prometheusText } from "../../src/observability/Prometheus.ts"
import type { BotServices } from "../../src/runtime/BotLayer.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { WebhookConfig } from "../../src/telegram/TelegramConfig.ts"
import { WebhookServerLive } from "../../src/telegram/WebhookServer.ts"

/**
 * Whether this is a run of the fault suite (`npm run test:faults`, its own config): only there
 * are bounds on real time (latencies, shutdown times) and memory asserted. In `npm test`, on a
 * machine shared with other work, the same scenarios check what happened, not how fast.
 */
export const inFaultSuite = process.env["FAULT_SUITE"] === "1"

/** A small seeded generator (mulberry32): the same seed gives the same faults. */
export const seededRandom = (seed: number) => {
  let a = seed >>> 0
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A window of wall-clock time; `open` starts it `afterMs` from now and keeps it `forMs`. */
export interface Outage {
  readonly open: (afterMs: number, forMs: number) => void
  readonly active: () => boolean
  /** Store calls refused during the window. */
  readonly refused: () => number
}

export const makeOutage = (): Outage => {
  let from = Number.POSITIVE_INFINITY
  let until = Number.NEGATIVE_INFINITY
  let refused = 0
  return {
    open: (afterMs, forMs) => {
      from = Date.now() + afterMs
      until = from + forMs
    },
    active: () => {
      const now = Date.now()
      const inside = now >= from && now < until
      if (inside) refused++
      return inside
    },
    refused: () => refused
  }
}

/**
 * Every call of every store service of `layer` fails with a retryable `StoreError` while the
 * outage is active, as a database that went away for a while.
 */
export const withOutage = <A, E, R>(layer: Layer.Layer<A, E, R>, outage: Outage): Layer.Layer<A, E, R> =>
  Layer.map(layer, (context) =>
    mapStores(context, () => (operation, effect) =>
      Effect.suspend(() =>
        outage.active()
          ? Effect.fail(new StoreError({ operation, message: "database unavailable (injected outage)", retryable: true }))
          : effect
      )))

/**
 * The bot's webhook server on 127.0.0.1 (a free port) with `secret`, in a scope of its own the
 * suite closes when it wants to see the shutdown.
 */
export const startWebhookServer = <E>(bot: Layer.Layer<BotServices, E>, secret: string) =>
  Effect.gen(function*() {
    const server = WebhookServerLive().pipe(
      Layer.provideMerge(Layer.merge(bot, WebhookConfig.make({ secret: Option.some(Redacted.make(secret)), port: 0 })))
    )
    const scope = yield* Scope.make()
    // Tracing off, as in production without a collector (the webhook on its node:http path).
    const context = yield* Layer.buildWithScope(server, scope).pipe(Effect.withTracerEnabled(false))
    const address = Context.get(context, HttpServer.HttpServer).address
    return {
      scope,
      url: `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}/telegram/webhook`,
      dispatcher: Context.get(context, Dispatcher),
      inbox: Context.get(context, Inbox)
    }
  })

/** Sum of a Prometheus counter's samples (all label sets) in the current metrics snapshot. */
export const counterTotal = (name: string) =>
  Effect.map(prometheusText, (text) =>
    text.split("\n")
      .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(" ") + 1)), 0))

/** The counters' values by label set, e.g. `{operation="telegram_send"}` → 12. */
export const counterSamples = (name: string) =>
  Effect.map(prometheusText, (text) =>
    Object.fromEntries(
      text.split("\n")
        .filter((line) => line.startsWith(`${name}{`))
        .map((line) => [line.slice(name.length, line.lastIndexOf(" ")), Number(line.slice(line.lastIndexOf(" ") + 1))])
    ))

export interface PostResult {
  readonly status: number
  /** Attempts it took (1 when the first one was acknowledged). */
  readonly attempts: number
  /** When the acknowledgement came (epoch millis). */
  readonly ackedAt: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Posts one update until the answer is 200, as Telegram does (any other status or a failed
 * connection is tried again after `retryDelayMs`), at most `maxAttempts` times.
 */
export const postUntilAcknowledged = async (
  url: string,
  secret: string,
  body: string,
  options: { readonly retryDelayMs?: number; readonly maxAttempts?: number } = {}
): Promise<PostResult> => {
  const maxAttempts = options.maxAttempts ?? 2000
  for (let attempt = 1;; attempt++) {
    const status = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
      body,
      signal: AbortSignal.timeout(10_000)
    }).then(async (r) => {
      await r.arrayBuffer()
      return r.status
    }, () => 0)
    if (status === 200 || attempt >= maxAttempts) return { status, attempts: attempt, ackedAt: Date.now() }
    await sleep(options.retryDelayMs ?? 50)
  }
}

/**
 * Telegram's delivery of many chats at once: each chat's updates in order (the next one after
 * the previous was acknowledged), chats in parallel.
 */
export const deliverChats = async (
  url: string,
  secret: string,
  chats: ReadonlyArray<ReadonlyArray<{ readonly update_id: number }>>,
  options: {
    readonly retryDelayMs?: number
    /** Told the number of updates acknowledged so far, after each acknowledgement. */
    readonly onAcknowledged?: (acknowledged: number) => void
  } = {}
): Promise<Map<number, PostResult>> => {
  const results = new Map<number, PostResult>()
  await Promise.all(chats.map(async (updates) => {
    for (const update of updates) {
      results.set(update.update_id, await postUntilAcknowledged(url, secret, JSON.stringify(update), options))
      options.onAcknowledged?.(results.size)
    }
  }))
  return results
}

