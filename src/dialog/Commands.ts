/**
 * The command registry: which in-chat commands the bot answers without the model, and the
 * reply to each. A text is a command when it starts with `/name` (any case), optionally
 * addressed to a bot (`/help@my_bot`), followed by a space or nothing; a name no command has
 * is not a command, and the text goes to the dialog.
 */
import { Context, Effect, Layer, Option } from "effect"
import { ConfigurationError, type StoreError } from "../domain/errors.ts"
import { withSpan } from "../observability/span.ts"
import type { Command, CommandContext } from "./Command.ts"

/** What a command answered: its name and the text to send. */
export interface CommandReply {
  readonly command: string
  readonly text: string
}

export interface CommandsService {
  /** The registered commands in order, as a command menu lists them. */
  readonly list: ReadonlyArray<{ readonly name: string; readonly description: string }>
  /** The commands of the public command menu (`CommandMenu.ts`): all but the admin chat's, in order. */
  readonly menu: ReadonlyArray<{ readonly name: string; readonly description: string }>
  /** The reply to a text that invokes a registered command; `None` for any other text. */
  readonly reply: (
    text: string,
    context: Omit<CommandContext, "args">
  ) => Effect.Effect<Option.Option<CommandReply>, StoreError>
}

export class Commands extends Context.Tag("dialog-bot/Commands")<Commands, CommandsService>() {}

/** The command a text starts with: its name in lower case and the text after it. */
export const parseCommand = (text: string): Option.Option<{ readonly name: string; readonly args: string }> => {
  const match = /^\/([a-zA-Z0-9_]{1,32})(?:@[a-zA-Z0-9_]+)?(?:\s|$)/.exec(text)
  if (match === null || match[1] === undefined) return Option.none()
  return Option.some({ name: match[1].toLowerCase(), args: text.slice(match[0].length).trim() })
}

const validName = /^[a-z0-9_]{1,32}$/

/** Builds the registry; a name Telegram does not allow, or two commands with one name, fail at start. */
export const makeCommands = <R>(commands: ReadonlyArray<Command<R>>) =>
  Effect.gen(function*() {
    const byName = new Map<string, Command<R>>()
    for (const command of commands) {
      if (!validName.test(command.name)) {
        return yield* Effect.fail(
          new ConfigurationError({
            source: "commands",
            message: `"${command.name}" is not a command name (1 to 32 lower-case letters, digits or _)`
          })
        )
      }
      if (byName.has(command.name)) {
        return yield* Effect.fail(
          new ConfigurationError({ source: "commands", message: `two commands are named "${command.name}"` })
        )
      }
      byName.set(command.name, command)
    }
    const context = yield* Effect.context<R>()

    const run = (command: Command<R>, invocation: CommandContext) =>
      command.handler(invocation).pipe(
        Effect.provide(context),
        Effect.catchTag("CommandFailure", (failure) => Effect.succeed(failure.message)),
        Effect.map((text): CommandReply => ({ command: command.name, text })),
        withSpan("dialog.command", { attributes: { command: command.name, chat_id: invocation.chatId } })
      )

    return Commands.of({
      list: [...byName.values()].map(({ description, name }) => ({ name, description })),
      menu: [...byName.values()].filter((command) => command.adminOnly !== true).map(({ description, name }) => ({ name, description })),
      reply: (text, context) => {
        const parsed = parseCommand(text)
        const command = Option.flatMap(parsed, ({ name }) => Option.fromNullable(byName.get(name)))
        if (Option.isNone(parsed) || Option.isNone(command)) return Effect.succeed(Option.none())
        return Effect.asSome(run(command.value, { ...context, args: parsed.value.args }))
      }
    })
  })

/** The registry over a list of commands; their requirements become the layer's. */
export const CommandsList = <R>(commands: ReadonlyArray<Command<R>>) => Layer.effect(Commands, makeCommands(commands))
