/**
 * The stand-ins of the benchmarks are the test suite's own fakes (`test/support/FakeBotApi.ts`,
 * `test/support/FakeOpenAi.ts`): one fake Bot API and one fake OpenAI for tests and benches, so
 * that a bench measures against the servers the tests hold to Telegram's and OpenAI's
 * behaviour. This file only gives them the bench's Promise face and its model:
 *
 * - the Bot API answers every call (after `latencyMs`, a round trip to the real Bot API); its
 *   sendMessage calls are the replies, with the time each arrived on `performance.now()`'s clock;
 * - the model answers after `latencyMs`: classification the default stage, every other call
 *   the user's last message quoted, so that a reply identifies the update it answers.
 */
import { Effect, Exit, Option, Scope } from "effect"
import { makeFakeBotApi } from "../../test/support/FakeBotApi.ts"
import { type FakeCompletion, type FakeRequest, makeFakeOpenAi } from "../../test/support/FakeOpenAi.ts"

/** The token the bench's systems are started with. */
export const benchToken = "123456:bench-token"

/** `make`'s value, open until `close`. */
const open = async <A>(make: Effect.Effect<A, never, Scope.Scope>) => {
  const scope = Effect.runSync(Scope.make())
  const value = await Effect.runPromise(Scope.extend(make, scope))
  return { value, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}

export interface Delivered {
  readonly chatId: number
  readonly text: string
  /** When the reply arrived, on `performance.now()`'s clock. */
  readonly at: number
}

export interface BenchBotApi {
  readonly url: string
  /** The replies so far, in order. */
  readonly delivered: () => ReadonlyArray<Delivered>
  /** Resolves with true once `count` replies arrived, with false after `timeoutMs`. */
  readonly waitFor: (count: number, timeoutMs: number) => Promise<boolean>
  /** Forgets the calls so far (a warm-up). */
  readonly reset: () => Promise<void>
  readonly close: () => Promise<void>
}

export const startFakeBotApi = async (latencyMs = 0): Promise<BenchBotApi> => {
  const { value: fake, close } = await open(makeFakeBotApi({ token: benchToken, latencyMs }))
  return {
    url: fake.url,
    delivered: () =>
      Effect.runSync(fake.delivered("sendMessage")).map((call) => ({
        chatId: Number(call.params["chat_id"]),
        text: String(call.params["text"] ?? ""),
        at: fake.startedAt + call.at
      })),
    waitFor: (count, timeoutMs) =>
      Effect.runPromise(fake.waitForCalls("sendMessage", count).pipe(Effect.timeoutOption(timeoutMs), Effect.map(Option.isSome))),
    reset: () => Effect.runPromise(fake.reset),
    close
  }
}

/** The bench's model: `latencyMs`, then the default stage for a classification, the last user message quoted otherwise. */
const benchModel = (latencyMs: number) => (request: FakeRequest): FakeCompletion => {
  const text = (message: Record<string, unknown> | undefined) => (typeof message?.["content"] === "string" ? message["content"] : "")
  const system = text(request.messages[0])
  const lastUser = text([...request.messages].reverse().find((m) => m["role"] === "user"))
  const classify = system.startsWith("Classify") || /Answer with one of/.test(system)
  return { delayMs: latencyMs, then: classify ? "general" : `answer to: ${lastUser}` }
}

export const startFakeOpenAi = async (latencyMs: number): Promise<{ readonly url: string; readonly close: () => Promise<void> }> => {
  const { value: fake, close } = await open(makeFakeOpenAi({ fallback: benchModel(latencyMs) }))
  return { url: fake.url, close }
}
