/**
 * The package's `./cli` entry: the command line for a team's own bot.
 *
 * ```ts
 * import { runBot } from "effect-telegram-dialog-bot/cli"
 * import { builtinTools } from "effect-telegram-dialog-bot"
 *
 * runBot({ profile: new URL("./profile.json", import.meta.url).pathname, tools: [...builtinTools, myTool], services: MyServicesLive })
 * ```
 *
 * `npx tsx main.ts` then runs it as `dialog-bot` runs the project's own bot: `chat`, `replay`,
 * `poll`, `serve`, `migrate`, `webhook`, every setting from the environment.
 */
export { type RunBotOptions, runBot } from "./runBot.ts"
export { type BotDefinition, BotServicesFailed } from "../runtime/BotDefinition.ts"
