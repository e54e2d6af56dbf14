/**
 * What `--help` says beyond `@effect/cli`'s own rendering: each command names the environment
 * variables it reads and where every setting is described, and the usage line of a
 * subcommand is the whole command (`$ dialog-bot webhook set`, not `$ set`).
 */
import { Console, Effect } from "effect"
import { settingsReference } from "../config.ts"

/** A command's description followed by the variables it reads. */
export const describeCommand = (text: string, variables: ReadonlyArray<string>): string =>
  `${text} Reads ${variables.join(", ")}; every setting is described in ${settingsReference}.`

const helpFlags: ReadonlyArray<string> = ["--help", "-h"]

/** Whether `argv` asks for help or the version only: nothing of the bot runs then. */
export const asksForHelp = (argv: ReadonlyArray<string>): boolean =>
  argv.slice(2).some((arg) => helpFlags.includes(arg) || arg === "--version")

/**
 * The help text with whole usage lines: `$ set` becomes `$ dialog-bot webhook set` when
 * `words` (the command words typed before `--help`) are `webhook set`. The generic line
 * `A user-defined piece of text.` of a text option is dropped: each option says what it takes.
 */
export const completeHelp = (text: string, program: string, words: ReadonlyArray<string>): string => {
  const lines = text.split("\n")
  const out: Array<string> = []
  lines.forEach((line, i) => {
    const plain = line.replace(/\x1b\[[0-9;]*m/g, "")
    // The generic line goes with the blank line after it.
    if (plain.trim() === "A user-defined piece of text.") return
    if (plain.trim() === "" && i > 0 && lines[i - 1]?.replace(/\x1b\[[0-9;]*m/g, "").trim() === "A user-defined piece of text.") return
    const usage = /^\$ (\S+)/.exec(plain)
    if (usage === null || usage[1] === program) return void out.push(line)
    const at = words.indexOf(usage[1] ?? "")
    const parents = at === -1 ? [] : words.slice(0, at)
    out.push(line.replace("$ ", `$ ${[program, ...parents].join(" ")} `))
  })
  return out.join("\n")
}

/** Runs the command line with its help completed (see {@link completeHelp}) when `argv` asks for help. */
export const withCompleteHelp = (program: string, argv: ReadonlyArray<string>) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const args = argv.slice(2)
  const helpAt = args.findIndex((arg) => helpFlags.includes(arg))
  if (helpAt === -1) return effect
  const words = args.slice(0, helpAt).filter((arg) => !arg.startsWith("-"))
  return Effect.flatMap(Effect.console, (console) =>
    Effect.withConsole(effect, {
      ...console,
      log: (...parts: ReadonlyArray<unknown>) =>
        console.log(...parts.map((part) => typeof part === "string" ? completeHelp(part, program, words) : part))
    } as Console.Console))
}
