/**
 * A local chat in the terminal: each line typed is a Telegram text message from one user,
 * handled by the dispatcher and the whole pipeline; the bot's replies are printed.
 *
 * The terminal stays a conversation: log lines are not written between the replies. A failure
 * is one line (`⚠ …`) the first time its reason comes up in a turn — an unreachable model
 * endpoint retried and fallen back from in three stages is one line, then the apology, not
 * some sixty lines of retries with their annotations. `LOG_LEVEL=debug` (or `trace`, `all`)
 * writes every log line as the other commands do.
 */
import * as readline from "node:readline"
import { Console, Duration, Effect, FiberRef, HashSet, Logger, LogLevel, Stream } from "effect"
import type { Update } from "../domain/Update.ts"
import { decodeUpdate } from "../domain/Update.ts"
import { Dispatcher } from "../runtime/Dispatcher.ts"
import { offlineBot } from "../replay/OfflineBot.ts"
import { debugLevel, LoggingConfigSchema } from "../runtime/Logging.ts"
import { TelegramApiConsole } from "../telegram/TelegramRecorder.ts"
import { announceModel } from "./offlineBot.ts"

export interface ChatOptions {
  readonly userId: number
  readonly firstName: string
}

/** The Update Telegram would send for a private text message. */
export const textUpdate = (updateId: number, messageId: number, options: ChatOptions, text: string) => ({
  update_id: updateId,
  message: {
    message_id: messageId,
    from: { id: options.userId, is_bot: false, first_name: options.firstName },
    chat: { id: options.userId, type: "private", first_name: options.firstName },
    date: Math.floor(Date.now() / 1000),
    text
  }
})

/** A log line's text: its message parts, the first line of each. */
const textOf = (message: unknown): string =>
  (Array.isArray(message) ? message : [message]).map((part) => String(part).split("\n")[0]).join(" ")

/**
 * The reason of a log line: what follows its first `: ` ("model call failed, retrying:
 * connection failed: …" and "classification failed, using the default stage: connection
 * failed: …" are one reason), or the whole line.
 */
const reasonOf = (text: string): string => {
  const at = text.indexOf(": ")
  return at === -1 ? text : text.slice(at + 2)
}

/** At most one terminal line of a long reason. */
const shortened = (text: string, width: number): string => text.length <= width ? text : `${text.slice(0, width - 1)}…`

/**
 * The chat's logger: a warning or an error is one line, `⚠ <reason>`, once per reason until
 * `nextTurn`; lines below warning are dropped (the command line's level decides which reach it).
 */
export const chatLogger = (write: (line: string) => void) => {
  const shown = new Set<string>()
  let hinted = false
  const logger = Logger.make<unknown, void>(({ logLevel, message }) => {
    if (LogLevel.lessThan(logLevel, LogLevel.Warning)) return
    const reason = reasonOf(textOf(message))
    if (shown.has(reason)) return
    shown.add(reason)
    const hint = hinted ? "" : " (LOG_LEVEL=debug for every log line)"
    hinted = true
    write(`⚠ ${shortened(reason, 200)}${hint}\n`)
  })
  return { logger, nextTurn: () => shown.clear() }
}

const writeStderr = (line: string) => {
  process.stderr.write(line)
}

/**
 * Runs `effect` (the chat and the bot under it) with the chat's logger in place of the
 * command line's, unless `LOG_LEVEL` asks for detail. `nextTurn` is called before each message.
 */
export const withChatLogging = <A, E, R>(effect: (nextTurn: () => void) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const detailed = yield* Effect.map(LoggingConfigSchema, debugLevel).pipe(Effect.orElseSucceed(() => false))
    if (detailed) return yield* effect(() => undefined)
    const { logger, nextTurn } = chatLogger(writeStderr)
    return yield* Effect.locally(effect(nextTurn), FiberRef.currentLoggers, HashSet.make(logger))
  })

export const chat = (options: ChatOptions, nextTurn: () => void = () => undefined) =>
  Effect.gen(function*() {
    const dispatcher = yield* Dispatcher
    const interactive = process.stdin.isTTY === true
    yield* Console.log(`Chatting as ${options.firstName} (user id ${options.userId}). /help lists commands; Ctrl-D or /quit ends.`)
    const lines = Stream.acquireRelease(
      Effect.sync(() => readline.createInterface({ input: process.stdin, terminal: false })),
      (rl) => Effect.sync(() => rl.close())
    ).pipe(
      Stream.flatMap((rl) => Stream.fromAsyncIterable(rl, (e) => new Error(String(e))))
    )
    let updateId = Date.now() * 10
    let messageId = 0
    const prompt = interactive ? Effect.sync(() => process.stdout.write("you> ")) : Effect.void
    yield* prompt
    yield* lines.pipe(
      Stream.map((line) => line.trim()),
      Stream.takeWhile((line) => line !== "/quit" && line !== "/exit"),
      Stream.runForEach((line) =>
        Effect.gen(function*() {
          // An empty line is no message: a fresh prompt.
          if (line.length > 0) {
            nextTurn()
            const raw = textUpdate(++updateId, ++messageId, options, line)
            const update: Update = yield* Effect.orDie(decodeUpdate(raw))
            yield* dispatcher.submit({ json: JSON.stringify(raw), update })
            yield* dispatcher.awaitIdle
          }
          yield* prompt
        })
      ),
      Effect.orDie
    )
  })

/** `chat` (src/cli/chatCommand.ts): the model announced, then the chat on the offline bot with the console as Telegram. */
export const runChat = (options: ChatOptions) =>
  withChatLogging((nextTurn) =>
    Effect.zipRight(announceModel, chat(options, nextTurn)).pipe(
      // A person at the terminal waits for each reply: a dependency that is down is the apology at
      // once (OUTAGE_PATIENCE=0), not minutes of silence, unless OUTAGE_PATIENCE asks for a wait.
      Effect.provide(offlineBot({ telegram: TelegramApiConsole, outagePatience: Duration.zero }))
    )
  )
