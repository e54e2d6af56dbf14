/**
 * The order-status bot's entry point: the project's command line on this bot.
 *
 *   npx tsx examples/order-status/main.ts chat          talk to it in the terminal
 *   TELEGRAM_BOT_TOKEN=… OPENAI_API_KEY=… npx tsx examples/order-status/main.ts
 *   npx tsx examples/order-status/main.ts --help        every command
 */
import { runBot } from "../../src/cli/index.ts"
import { orderBot } from "./bot.ts"

runBot(orderBot, { name: "order-bot", invocation: "npx tsx examples/order-status/main.ts" })
