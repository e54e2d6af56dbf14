/**
 * What the process tests ask of a bot they started (with `test/support/BotProcess.ts`): whether
 * its port is free again, a port held by someone else, and whether its output holds a stack
 * trace.
 */
import * as Net from "node:net"
import { Effect } from "effect"
import { processStart, type Started } from "../support/BotProcess.ts"
import { eventually } from "../support/realTime.ts"

/** Whether a connection to 127.0.0.1:port is refused. */
export const connectionRefused = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(false))
    })
    socket.once("error", () => resume(Effect.succeed(true)))
  })

/** A server holding a port on 127.0.0.1 for the scope: the port is taken. */
export const takenPort = Effect.acquireRelease(
  Effect.async<Net.Server>((resume) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map((server) => (server.address() as Net.AddressInfo).port))

/** Lines that look like a stack trace. */
export const stackFrames = (text: string): ReadonlyArray<string> => text.split("\n").filter((line) => /^\s+at /.test(line))

/** The environment of `serve` on 127.0.0.1 (a free port) against a fake Bot API, memory stores, info logs; `more` on top. */
export const serveEnvironment = (fake: { readonly token: string; readonly url: string }, more: Record<string, string> = {}) => ({
  TELEGRAM_BOT_TOKEN: fake.token,
  TELEGRAM_API_BASE_URL: fake.url,
  STORE: "memory",
  HOST: "127.0.0.1",
  PORT: "0",
  LOG_LEVEL: "info",
  ...more
})

/** The port the webhook server reports it listens on. */
export const listeningPort = (bot: Started) =>
  eventually(
    Effect.sync(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(bot.stderr() + bot.stdout())?.[1]),
    (port) => port !== undefined,
    processStart
  ).pipe(Effect.map(Number))

/** `GET /readyz` on 127.0.0.1:port: the status and the report (status 0 when nothing answers). */
export const readyz = (port: number) =>
  Effect.promise(() =>
    fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(10_000) }).then(
      async (r) => ({ status: r.status, body: await r.json() as unknown }),
      () => ({ status: 0, body: undefined as unknown })
    )
  )
