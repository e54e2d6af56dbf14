/** `chat`: talk to the bot in the terminal. */
import { Command, Options } from "@effect/cli"
import { Duration, Effect } from "effect"
import { offlineBot } from "../replay/OfflineBot.ts"
import { TelegramApiConsole } from "../telegram/TelegramRecorder.ts"
import { chat, withChatLogging } from "./chat.ts"
import { announceModel } from "./offlineBot.ts"
import { describeCommand } from "./help.ts"

export const chatCommand = Command.make(
  "chat",
  {
    userId: Options.integer("user-id").pipe(Options.withDefault(100_000_001), Options.withDescription("your Telegram user id")),
    name: Options.text("name").pipe(Options.withDefault("You"), Options.withDescription("your first name"))
  },
  ({ name, userId }) =>
    withChatLogging((nextTurn) =>
      Effect.zipRight(announceModel, chat({ userId, firstName: name }, nextTurn)).pipe(
        // A person at the terminal waits for each reply: a dependency that is down is the apology at
        // once (OUTAGE_PATIENCE=0), not minutes of silence, unless OUTAGE_PATIENCE asks for a wait.
        Effect.provide(offlineBot({ telegram: TelegramApiConsole, outagePatience: Duration.zero, textOnly: true }))
      )
    )
).pipe(Command.withDescription(describeCommand("Chat with the bot in this terminal, as a Telegram user.", [
    "BOT_PROFILE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL",
    "STORE",
    "SQLITE_PATH",
    "OUTAGE_PATIENCE",
    "LOG_LEVEL"
  ])))

