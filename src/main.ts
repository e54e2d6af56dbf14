/**
 * The command line: `npm start -- <command> [options]` (or the package's `dialog-bot` bin) runs
 * the project's own bot. The commands are in `src/cli/`; a team runs its own bot with the same
 * command line through `runBot` (the package's `./cli` entry).
 */
import { runBot } from "./cli/runBot.ts"

runBot()
