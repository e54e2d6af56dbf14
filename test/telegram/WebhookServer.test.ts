import * as Http from "node:http"
import { StoreError } from "../../src/domain/errors.ts"
import { mapStores } from "../../src/store/Instrumented.ts"
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Duration, Effect, Either, Exit, Fiber, Layer, Option, Redacted, Scope } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { DispatcherConfig, type DispatcherConfigShape } from "../../src/runtime/DispatcherConfig.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import type { ConfigurationError } from "../../src/domain/errors.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer, type Stores } from "../../src/runtime/BotLayer.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import type { LanguageModel } from "../../src/llm/LanguageModel.ts"
import { WebhookConfig, type WebhookConfigShape } from "../../src/telegram/TelegramConfig.ts"
import { takeWebhookPort, type WebhookPort } from "../../src/telegram/WebhookPort.ts"
import { WebhookServerLive } from "../../src/telegram/WebhookServer.ts"
import { registerReadiness } from "../../src/telegram/Health.ts"
import { Intake } from "../../src/telegram/Intake.ts"
import { ReadinessProbesLive } from "../../src/observability/Readiness.ts"
import { metricsServerOn } from "../../src/observability/MetricsServer.ts"
import {
  defaultProfilePath,
  type Script,
  ScriptedModel,
  LanguageModelScripted,
  StoresMemory,
  textMessage
} from "../../src/testing/index.ts"
import { eventually, type FakeBotApi, makeFakeBotApi, telegramLayerFor } from "../support/FakeBotApi.ts"

const secret = "webhook-secret_123"
const path = "/telegram/webhook"

interface ServerOptions {
  readonly webhook?: Partial<WebhookConfigShape>
  readonly script?: Script
  readonly dispatcher?: Partial<DispatcherConfigShape>
  readonly stores?: Context.Context<Stores>
  readonly routes?: HttpRouter.HttpRouter<never, never>
  readonly port?: WebhookPort
}

const serverLayer = (
  fake: FakeBotApi,
  stores: Context.Context<Stores>,
  model: Context.Context<ScriptedModel | LanguageModel>,
  options: ServerOptions
) => {
  const bot = botLayer<ConfigurationError, never>({
    telegram: telegramLayerFor(fake),
    model: Layer.succeedContext(model),
    stores: Layer.succeedContext(stores),
    profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer)),
    dialogConfig: DialogConfig.make(),
    dispatcherConfig: DispatcherConfig.make(options.dispatcher),
    sendConfig: SendConfig.make({ backoffBase: Duration.millis(1) })
  })
  const config = WebhookConfig.make({ secret: Option.some(Redacted.make(secret)), ...options.webhook })
  return WebhookServerLive({
    ...(options.routes === undefined ? {} : { routes: options.routes }),
    ...(options.port === undefined ? {} : { port: options.port })
  }).pipe(
    Layer.provideMerge(Layer.merge(bot, config))
  )
}

/** Starts the bot and its webhook server on 127.0.0.1:0 in a scope of its own (closed by the test or at its end). */
const startServer = (options: ServerOptions = {}) =>
  Effect.gen(function*() {
    const fake = yield* makeFakeBotApi()
    const stores = options.stores ?? (yield* Layer.build(StoresMemory))
    const model = yield* Layer.build(
      LanguageModelScripted(options.script ?? { classify: ["general"], think: ["ok"], synthesize: ["Hello!"] })
    )
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    // Tracing off, as in production without a collector (test/observability/webhook.test.ts
    // covers the same route traced).
    const context = yield* Layer.buildWithScope(serverLayer(fake, stores, model, options), scope).pipe(
      Effect.withTracerEnabled(false)
    )
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    return {
      fake,
      scope,
      base: `http://127.0.0.1:${port}`,
      dispatcher: Context.get(context, Dispatcher),
      inbox: Context.get(stores, Inbox),
      model: Context.get(model, ScriptedModel)
    }
  })

interface Answer {
  readonly status: number
  readonly body: string
}

const request = (url: string, init: RequestInit) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(url, init)
    return { status: response.status, body: await response.text() }
  })

const post = (base: string, body: string, headers: Record<string, string> = { [secretHeaderName]: secret }) =>
  request(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body })

const secretHeaderName = "X-Telegram-Bot-Api-Secret-Token"

/** A POST with a chunked body (no content-length), written in pieces. */
const postChunked = (base: string, pieces: ReadonlyArray<string>) =>
  Effect.async<number>((resume) => {
    const req = Http.request(`${base}${path}`, {
      method: "POST",
      headers: { [secretHeaderName]: secret, "content-type": "application/json", "transfer-encoding": "chunked" }
    }, (res) => {
      res.resume()
      resume(Effect.succeed(res.statusCode ?? 0))
    })
    req.on("error", () => resume(Effect.succeed(-1)))
    for (const piece of pieces) req.write(piece)
    req.end()
  })

const update = (updateId: number, text = "hello", userId = 42) => JSON.stringify(textMessage({ updateId, userId, text }))

describe("webhook server", () => {
  it.scopedLive("checks the secret header: missing or wrong is 401 and records nothing, right is 200", () =>
    Effect.gen(function*() {
      const { base, dispatcher, inbox } = yield* startServer()
      expect((yield* post(base, update(1), {})).status).toBe(401)
      expect((yield* post(base, update(1), { [secretHeaderName]: "webhook-secret_124" })).status).toBe(401)
      expect((yield* post(base, update(1), { [secretHeaderName]: "x" })).status).toBe(401)
      expect((yield* post(base, update(1), { [secretHeaderName]: `${secret}${secret}` })).status).toBe(401)
      expect(yield* inbox.lastUpdateId).toBeUndefined()
      expect(yield* post(base, update(1))).toEqual({ status: 200, body: "ok" })
      yield* dispatcher.awaitIdle
      expect(yield* inbox.lastUpdateId).toBe(1)
      // With tracing off the webhook's own node:http path answered (its content type says so).
      const again = yield* Effect.promise(() =>
        fetch(`${base}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json", [secretHeaderName]: secret },
          body: update(1)
        }).then((r) => r.headers.get("content-type"))
      )
      expect(again).toBe("text/plain; charset=utf-8")
    }))

  it.scopedLive("malformed JSON and bodies that are not an Update are 400", () =>
    Effect.gen(function*() {
      const { base, inbox } = yield* startServer()
      expect((yield* post(base, "{\"update_id\": 5, ")).status).toBe(400)
      expect((yield* post(base, "")).status).toBe(400)
      expect((yield* post(base, "[1,2,3]")).status).toBe(400)
      expect((yield* post(base, "{\"message\":{\"text\":\"no update_id\"}}")).status).toBe(400)
      expect((yield* post(base, "{\"update_id\": 12345678901234567890}")).status).toBe(400)
      expect((yield* post(base, "{\"update_id\": 7, \"message\": \"not a message\"}")).status).toBe(400)
      expect(yield* inbox.lastUpdateId).toBeUndefined()
    }))

  it.scopedLive("bodies over the limit are 413, with or without a content-length", () =>
    Effect.gen(function*() {
      const { base, inbox } = yield* startServer({ webhook: { maxBodyBytes: 2048 } })
      const big = JSON.stringify({ ...textMessage({ updateId: 9, text: "x".repeat(4000) }) })
      expect((yield* post(base, big)).status).toBe(413)
      expect(yield* postChunked(base, [big.slice(0, 1500), big.slice(1500, 3000), big.slice(3000)])).toBe(413)
      expect(yield* postChunked(base, [update(10).slice(0, 20), update(10).slice(20)])).toBe(200)
      expect(yield* inbox.lastUpdateId).toBe(10)
    }))

  it.scopedLive("a valid update is acknowledged before any dialog work; a duplicate is acknowledged and not handled again", () =>
    Effect.gen(function*() {
      const { base, dispatcher, fake, inbox, model } = yield* startServer({
        script: { classify: [{ delay: "300 millis", then: "general" }], think: ["ok"], synthesize: ["Hello!"] }
      })
      const body = update(21, "hi there")
      expect(yield* post(base, body)).toEqual({ status: 200, body: "ok" })
      // Acknowledged, recorded and still pending: the dialog has not answered yet.
      expect(yield* fake.calls("sendMessage")).toHaveLength(0)
      expect(yield* inbox.pendingCount).toBe(1)
      expect((yield* inbox.pending())[0]?.payload).toBe(body)

      expect(yield* post(base, body)).toEqual({ status: 200, body: "ok" })
      yield* dispatcher.awaitIdle
      expect(yield* post(base, body)).toEqual({ status: 200, body: "ok" })
      yield* dispatcher.awaitIdle
      expect(yield* fake.sentTexts(42)).toEqual(["Hello!"])
      expect((yield* model.requests).filter((r) => r.purpose === "classify")).toHaveLength(1)
      expect(yield* inbox.pendingCount).toBe(0)
    }))

  it.scopedLive("while the dispatcher shuts down updates get 503; /healthz answers", () =>
    Effect.gen(function*() {
      const { base, dispatcher, inbox } = yield* startServer()
      const health = yield* request(`${base}/healthz`, { method: "GET" })
      expect(health.status).toBe(200)
      expect(JSON.parse(health.body)).toEqual({ status: "ok", outstanding: 0, store: "ok", telegram: "ok" })
      expect((yield* request(`${base}/nowhere`, { method: "GET" })).status).toBe(404)
      yield* dispatcher.shutdown
      expect((yield* post(base, update(31))).status).toBe(503)
      expect(yield* inbox.lastUpdateId).toBeUndefined()
    }))

  it.scopedLive("/healthz tells when the store or the Bot API does not answer, and asks Telegram at most every 30 s", () =>
    Effect.gen(function*() {
      const memory = yield* Layer.build(StoresMemory)
      let storeDown = true
      const stores = mapStores(memory, (store) => (operation, effect) =>
        store === "inbox" && operation === "lastUpdateId"
          ? Effect.suspend(() => storeDown ? Effect.fail(new StoreError({ operation, message: "database is locked" })) : effect)
          : effect)
      const { base, fake } = yield* startServer({ stores })
      yield* fake.script("getMe", { error: 401, description: "Unauthorized" })
      const health = yield* request(`${base}/healthz`, { method: "GET" })
      expect(health.status).toBe(200)
      expect(JSON.parse(health.body)).toEqual({
        status: "degraded",
        outstanding: 0,
        store: "failing: database is locked",
        telegram: "failing: getMe: 401 Unauthorized"
      })
      storeDown = false
      // The Bot API's answer is kept for 30 s: a second probe does not call getMe again.
      expect(JSON.parse((yield* request(`${base}/healthz`, { method: "GET" })).body)).toMatchObject({ store: "ok" })
      expect(yield* fake.calls("getMe")).toHaveLength(1)
    }))

  it.scopedLive("/readyz: 503 while the store fails, 200 once it answers, 503 while draining; the metrics port answers the same", () =>
    Effect.gen(function*() {
      const memory = yield* Layer.build(StoresMemory)
      let storeDown = true
      const finishing = yield* Effect.makeLatch(false)
      const stores = mapStores(memory, (store) => (operation, effect) => {
        if (store === "inbox" && operation === "lastUpdateId") {
          return Effect.suspend(() => storeDown ? Effect.fail(new StoreError({ operation, message: "connection refused" })) : effect)
        }
        // A dialog that cannot finish until the test lets it: the drain waits for it.
        return store === "inbox" && operation === "markDone" ? Effect.zipRight(finishing.await, effect) : effect
      })
      const { base, dispatcher, scope } = yield* startServer({ stores })
      const probes = yield* Layer.build(ReadinessProbesLive)
      const metrics = yield* Layer.build(metricsServerOn({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(Layer.succeedContext(probes))))
      const metricsAddress = Context.get(metrics, HttpServer.HttpServer).address
      const metricsBase = `http://127.0.0.1:${metricsAddress._tag === "TcpAddress" ? metricsAddress.port : 0}`
      const readyz = (at: string) => Effect.map(request(`${at}/readyz`, { method: "GET" }), (a) => ({ status: a.status, body: JSON.parse(a.body) }))

      // No bot registered yet on the metrics port.
      expect(yield* readyz(metricsBase)).toEqual({
        status: 503,
        body: { status: "not_ready", store: "unknown", draining: false, bot: "starting" }
      })
      yield* registerReadiness.pipe(
        Effect.provide(Context.merge(stores, probes)),
        Effect.provideService(Intake, dispatcher),
        Scope.extend(scope)
      )
      const failing = { status: 503, body: { status: "not_ready", store: "failing: connection refused", draining: false } }
      expect(yield* readyz(base)).toEqual(failing)
      expect(yield* readyz(metricsBase)).toEqual(failing)
      // Liveness does not change.
      expect((yield* request(`${base}/healthz`, { method: "GET" })).status).toBe(200)

      storeDown = false
      const ready = { status: 200, body: { status: "ready", store: "ok", draining: false } }
      expect(yield* eventually(readyz(base), (answer) => answer.status === 200, Duration.seconds(10))).toEqual(ready)
      expect(yield* eventually(readyz(metricsBase), (answer) => answer.status === 200, Duration.seconds(10))).toEqual(ready)

      expect((yield* post(base, update(41))).status).toBe(200)
      const stopping = yield* Effect.fork(dispatcher.shutdown)
      const draining = { status: 503, body: { status: "not_ready", store: "ok", draining: true } }
      expect(yield* readyz(base)).toEqual(draining)
      expect(yield* readyz(metricsBase)).toEqual(draining)
      expect((yield* post(base, update(42))).status).toBe(503)
      yield* finishing.open
      yield* Fiber.join(stopping)
      expect(yield* readyz(base)).toEqual(draining)
    }))

  it.scopedLive("refuses to start without a secret unless allowed for local testing", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const stores = yield* Layer.build(StoresMemory)
      const model = yield* Layer.build(LanguageModelScripted({}))
      const refused = yield* Effect.either(Layer.build(serverLayer(fake, stores, model, { webhook: { secret: Option.none() } })))
      expect(Either.isLeft(refused) && refused.left._tag).toBe("WebhookSecretMissing")
      expect(Either.isLeft(refused) && refused.left.message).toContain("WEBHOOK_ALLOW_NO_SECRET")

      const { base } = yield* startServer({ webhook: { secret: Option.none(), allowNoSecret: true } })
      expect((yield* post(base, update(41), {})).status).toBe(200)
    }))

  it.effect("refuses a webhook path or URL that contains the bot token", () =>
    Effect.gen(function*() {
      const token = "123456:AAbbCCddEEffGGhh"
      const read = (env: Record<string, string>) =>
        Effect.either(Effect.flatMap(Layer.build(WebhookConfig.fromEnv), (ctx) => Effect.succeed(Context.get(ctx, WebhookConfig))).pipe(
          Effect.scoped,
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ TELEGRAM_BOT_TOKEN: token, ...env }))))
        ))
      const byPath = yield* read({ WEBHOOK_PATH: `/bot${token}` })
      expect(Either.isLeft(byPath) && String(byPath.left)).toContain("WEBHOOK_PATH must not contain the bot token")
      const bySecretHalf = yield* read({ WEBHOOK_PATH: "/hook/AAbbCCddEEffGGhh" })
      expect(Either.isLeft(bySecretHalf)).toBe(true)
      const byUrl = yield* read({ WEBHOOK_URL: `https://bot.example.com/${token}` })
      expect(Either.isLeft(byUrl) && String(byUrl.left)).toContain("WEBHOOK_URL must not contain the bot token")
      const fine = yield* read({ WEBHOOK_URL: "https://bot.example.com/telegram/webhook", WEBHOOK_SECRET: "abc" })
      expect(Either.isRight(fine) && fine.right.path).toBe("/telegram/webhook")
      expect(Either.isRight(fine) && fine.right.port).toBe(8080)
      expect(Either.isRight(fine) && fine.right.host).toBe("0.0.0.0")
      expect(Either.isRight(fine) && fine.right.maxBodyBytes).toBe(1024 * 1024)
      const badSecret = yield* read({ WEBHOOK_SECRET: "has spaces in it" })
      expect(Either.isLeft(badSecret)).toBe(true)
    }))

  it.scopedLive("serves extra routes next to the webhook", () =>
    Effect.gen(function*() {
      const routes = HttpRouter.empty.pipe(HttpRouter.get("/metrics", HttpServerResponse.text("updates_total 0\n")))
      const { base } = yield* startServer({ routes })
      expect(yield* request(`${base}/metrics`, { method: "GET" })).toEqual({ status: 200, body: "updates_total 0\n" })
      expect((yield* post(base, update(51))).status).toBe(200)
    }))
})

describe("the webhook port taken before the bot is built", () => {
  const takePort = (port: number) =>
    takeWebhookPort.pipe(Effect.provide(WebhookConfig.make({ secret: Option.some(Redacted.make(secret)), host: "127.0.0.1", port })))

  it.scopedLive("answers 503 with Retry-After until the server takes it over, then the webhook and /healthz answer on it; a taken port is PortInUse", () =>
    Effect.gen(function*() {
      const port = yield* takePort(0)
      const address = port.server.address()
      const base = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
      const early = yield* Effect.promise(() =>
        fetch(`${base}${path}`, { method: "POST", headers: { [secretHeaderName]: secret, "content-type": "application/json" }, body: update(61) })
      )
      expect([early.status, early.headers.get("retry-after")]).toEqual([503, "1"])
      // Alive (a liveness probe does not restart it), not ready: the report the metrics port gives before the bot runs.
      expect(yield* request(`${base}/healthz`, { method: "GET" })).toEqual({ status: 200, body: "{\"status\":\"starting\"}" })
      const readiness = yield* request(`${base}/readyz`, { method: "GET" })
      expect([readiness.status, JSON.parse(readiness.body)]).toEqual([503, { status: "not_ready", store: "unknown", draining: false, bot: "starting" }])

      const started = yield* startServer({ port })
      expect(started.base).toBe(base)
      expect((yield* post(base, update(61))).status).toBe(200)
      expect(JSON.parse((yield* request(`${base}/healthz`, { method: "GET" })).body)).toMatchObject({ status: "ok" })
      yield* started.dispatcher.awaitIdle
      expect(yield* started.fake.sentTexts(42)).toEqual(["Hello!"])

      const taken = yield* Effect.flip(takePort(Number(new URL(base).port)))
      expect(taken._tag).toBe("PortInUse")
    }))

  it.scopedLive("without WEBHOOK_SECRET the port is not taken", () =>
    Effect.gen(function*() {
      const refused = yield* Effect.flip(
        takeWebhookPort.pipe(Effect.provide(WebhookConfig.make({ secret: Option.none(), host: "127.0.0.1", port: 0 })))
      )
      expect(refused._tag).toBe("WebhookSecretMissing")
    }))
})

describe("webhook shutdown", () => {
  const refused = (base: string) =>
    Effect.promise(() => fetch(`${base}/healthz`).then(() => false, () => true))

  it.scopedLive("intake stops first, then the dialog in flight finishes and its reply is sent; the port closes after", () =>
    Effect.gen(function*() {
      const { base, fake, inbox, scope } = yield* startServer({
        script: { classify: [{ delay: "1500 millis", then: "general" }], think: ["ok"], synthesize: ["Done, slowly."] }
      })
      expect((yield* post(base, update(61))).status).toBe(200)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      // While the dialog still runs the server answers: updates 503, /readyz `draining`.
      yield* eventually(post(base, update(62)), (answer) => answer.status === 503)
      expect((yield* request(`${base}/readyz`, { method: "GET" })).status).toBe(503)
      expect(yield* fake.calls("sendMessage")).toHaveLength(0)
      yield* Fiber.join(closing)
      expect(yield* refused(base)).toBe(true)
      expect(yield* fake.sentTexts(42)).toEqual(["Done, slowly."])
      expect(yield* inbox.pendingCount).toBe(0)
      expect(yield* inbox.lastUpdateId).toBe(61)
    }))

  it.scopedLive("a dialog past SHUTDOWN_DEADLINE is interrupted and stays pending for the next start", () =>
    Effect.gen(function*() {
      const { base, fake, inbox, scope } = yield* startServer({
        script: { classify: [{ delay: "20 seconds", then: "general" }], think: ["ok"], synthesize: ["never"] },
        dispatcher: { shutdownDeadline: Duration.millis(200) }
      })
      expect((yield* post(base, update(71))).status).toBe(200)
      yield* Scope.close(scope, Exit.void)
      expect(yield* fake.calls("sendMessage")).toHaveLength(0)
      expect((yield* inbox.pending()).map((e) => e.updateId)).toEqual([71])
    }))
})
