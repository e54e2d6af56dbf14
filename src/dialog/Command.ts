/**
 * An in-chat command: `/name`, a description, and an Effect handler whose result is the reply.
 * Commands are answered without the model. The handler may use the stores, the profile, the
 * settings, or any service a team provides as a layer; whatever it needs becomes a requirement
 * of the bot layer, as with tools.
 *
 * ```ts
 * export const orders = defineCommand({
 *   name: "orders",
 *   description: "your open orders",
 *   handler: ({ userId }) => Effect.flatMap(OrderService, (service) => service.openOrdersText(userId))
 * })
 * // the bot's parts: commands: [...builtinCommands, orders]
 * ```
 */
import { type Effect, Schema } from "effect"
import type { StoreError } from "../domain/errors.ts"
import type { TelegramId, User } from "../domain/Update.ts"

/** Who a command runs for, and what was written after its name. */
export interface CommandContext {
  readonly chatId: TelegramId
  readonly userId: TelegramId
  readonly updateId: TelegramId
  /** The forum topic the command was written in (its conversation); absent elsewhere. */
  readonly threadId?: number | undefined
  /** The business connection the command came through (its answer goes on it); absent elsewhere. */
  readonly businessConnectionId?: string | undefined
  /** Who wrote the command, as Telegram describes them. */
  readonly from?: User | undefined
  /** The text after the command, trimmed (`NW-1001` in `/orders NW-1001`); empty when none. */
  readonly args: string
}

/** A command could not do its work; its message is the reply. */
export class CommandFailure extends Schema.TaggedError<CommandFailure>()("CommandFailure", {
  message: Schema.String
}) {}

export interface Command<R = never> {
  /** The name after the slash: 1 to 32 lower-case letters, digits or `_`, as Telegram allows. */
  readonly name: string
  /** What the command does, in a few words (as a command menu shows it). */
  readonly description: string
  /** Answered in the admin chat only: left out of the public command menu. */
  readonly adminOnly?: boolean | undefined
  /**
   * The text to reply; empty when the handler answered on its own (as `/usage` does with a
   * message only its asker sees in a group). A `CommandFailure` is answered with its message; a
   * `StoreError` fails the update like a store error of the dialog does.
   */
  readonly handler: (context: CommandContext) => Effect.Effect<string, CommandFailure | StoreError, R>
}

/** A command definition, typed by what its handler needs. */
export const defineCommand = <R = never>(command: Command<R>): Command<R> => command
