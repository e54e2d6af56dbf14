/**
 * A local chat in the terminal: each line typed is a Telegram text message from one user,
 * handled by the dispatcher and the whole pipeline; the bot's replies are printed.
 */
import * as readline from "node:readline"
import { Console, Effect, Stream } from "effect"
import type { Update } from "../domain/Update.ts"
import { decodeUpdate } from "../domain/Update.ts"
import { Dispatcher } from "../runtime/Dispatcher.ts"

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

export const chat = (options: ChatOptions) =>
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
      Stream.filter((line) => line.length > 0),
      Stream.runForEach((line) =>
        Effect.gen(function*() {
          const raw = textUpdate(++updateId, ++messageId, options, line)
          const update: Update = yield* Effect.orDie(decodeUpdate(raw))
          yield* dispatcher.submit({ json: JSON.stringify(raw), update })
          yield* dispatcher.awaitIdle
          yield* prompt
        })
      ),
      Effect.orDie
    )
  })
