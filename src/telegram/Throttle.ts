/**
 * The proactive outgoing throttle (`TELEGRAM_THROTTLE`): about thirty messages a second
 * overall and about one a second per chat after a burst of three, Telegram's published limits.
 * A call that asks for it (`CallOptions.throttle`) waits here before each attempt.
 */
import { Clock, Duration, Effect, ExecutionStrategy, Exit, RateLimiter, Scope } from "effect"

/** Runs `effect` once the limits allow one more message to `chat` (every chat at once when none). */
export type Throttle = <A, E>(chat: string | number | undefined, effect: Effect.Effect<A, E>) => Effect.Effect<A, E>

/** Per-chat limiters kept before idle ones are closed. */
const chatLimiterSoftCap = 1024

/**
 * A throttle whose limiters live in the current scope. Each per-chat limiter lives in a scope
 * of its own; one idle longer than its window is as good as a new one, so such limiters are
 * closed when the map grows, which keeps memory bounded by the chats active lately.
 */
export const makeThrottle: Effect.Effect<Throttle, never, Scope.Scope> = Effect.gen(function*() {
  const scope = yield* Effect.scope
  const global = yield* RateLimiter.make({ limit: 30, interval: "1 second", algorithm: "token-bucket" })

  interface ChatLimiter {
    readonly limiter: RateLimiter.RateLimiter
    readonly scope: Scope.CloseableScope
    users: number
    lastUsed: number
  }
  const perChat = new Map<string | number, ChatLimiter>()
  const chatWindow = Duration.seconds(3)
  const evictIdle = (now: number) =>
    Effect.forEach(
      [...perChat.entries()].filter(([, entry]) =>
        entry.users === 0 && now - entry.lastUsed > Duration.toMillis(chatWindow)
      ),
      ([chat, entry]) => Effect.zipRight(Effect.sync(() => perChat.delete(chat)), Scope.close(entry.scope, Exit.void)),
      { discard: true }
    )
  const acquire = (chat: string | number) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const existing = perChat.get(chat)
      if (existing) {
        existing.users++
        existing.lastUsed = now
        return existing
      }
      if (perChat.size >= chatLimiterSoftCap) yield* evictIdle(now)
      const limiterScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
      const limiter = yield* RateLimiter.make({ limit: 3, interval: chatWindow, algorithm: "token-bucket" }).pipe(
        Scope.extend(limiterScope)
      )
      const entry: ChatLimiter = { limiter, scope: limiterScope, users: 1, lastUsed: now }
      perChat.set(chat, entry)
      return entry
    })
  const release = (entry: ChatLimiter) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        entry.users--
        entry.lastUsed = now
      }))

  const throttle: Throttle = (chat, effect) =>
    chat === undefined
      ? global(effect)
      : Effect.acquireUseRelease(acquire(chat), (entry) => entry.limiter(global(effect)), release)
  return throttle
})
