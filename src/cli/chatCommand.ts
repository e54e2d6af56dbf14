/** `chat`: talk to the bot in the terminal. */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { offlineBot } from "../replay/OfflineBot.ts"
import { TelegramApiConsole } from "../telegram/TelegramRecorder.ts"
import { chat } from "./chat.ts"
import { announceModel } from "./offlineBot.ts"

export const chatCommand = Command.make(
  "chat",
  {
    userId: Options.integer("user-id").pipe(Options.withDefault(100_000_001), Options.withDescription("your Telegram user id")),
    name: Options.text("name").pipe(Options.withDefault("You"), Options.withDescription("your first name"))
  },
  ({ name, userId }) =>
    Effect.zipRight(announceModel, chat({ userId, firstName: name })).pipe(
      Effect.provide(offlineBot({ telegram: TelegramApiConsole }))
    )
).pipe(Command.withDescription("Chat with the bot in this terminal, as a Telegram user."))

