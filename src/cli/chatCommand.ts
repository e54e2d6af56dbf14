/** `chat`: talk to the bot in the terminal (src/cli/chat.ts, imported when the command runs). */
import { Command, Options } from "@effect/cli"
import { withModule } from "../effect/lazyLayer.ts"
import { describeCommand } from "./help.ts"

export const chatCommand = Command.make(
  "chat",
  {
    userId: Options.integer("user-id").pipe(Options.withDefault(100_000_001), Options.withDescription("your Telegram user id")),
    name: Options.text("name").pipe(Options.withDefault("You"), Options.withDescription("your first name"))
  },
  ({ name, userId }) => withModule(() => import("./chat.ts"), (chat) => chat.runChat({ userId, firstName: name }))
).pipe(Command.withDescription(describeCommand("Chat with the bot in this terminal, as a Telegram user.", [
    "BOT_PROFILE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL",
    "STORE",
    "SQLITE_PATH",
    "OUTAGE_PATIENCE",
    "LOG_LEVEL"
  ])))
