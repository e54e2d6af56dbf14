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

/** A terminal's colour codes. */
const ansi = /\x1b\[[0-9;]*m/g

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
    const plain = line.replace(ansi, "")
    // The generic line goes with the blank line after it.
    if (plain.trim() === "A user-defined piece of text.") return
    if (plain.trim() === "" && i > 0 && lines[i - 1]?.replace(ansi, "").trim() === "A user-defined piece of text.") return
    const usage = /^\$ (\S+)/.exec(plain)
    if (usage === null || usage[1] === program) return void out.push(line)
    const at = words.indexOf(usage[1] ?? "")
    const parents = at === -1 ? [] : words.slice(0, at)
    out.push(line.replace("$ ", `$ ${[program, ...parents].join(" ")} `))
  })
  return out.join("\n")
}

/** The help's width: it fits a terminal of 100 columns, and a review of a pull request. */
export const helpWidth = 100

/** A line's length as a terminal shows it (colour codes take no room). */
const visibleLength = (text: string): number => text.replace(ansi, "").length

/** One line broken at spaces into lines of at most `width` columns, each with the first one's indentation. */
const wrapLine = (line: string, width: number): ReadonlyArray<string> => {
  if (visibleLength(line) <= width) return [line]
  const indent = /^ */.exec(line)?.[0] ?? ""
  const out: Array<string> = []
  let current = ""
  for (const word of line.slice(indent.length).split(" ")) {
    if (current !== "" && visibleLength(indent + current) + 1 + visibleLength(word) > width) {
      out.push(indent + current)
      current = word
    } else {
      current = current === "" ? word : `${current} ${word}`
    }
  }
  out.push(indent + current)
  return out
}

/**
 * The help as its output takes it: colour codes only on a terminal (`colors` false: a pipe, a
 * file), every line within {@link helpWidth} columns.
 */
export const helpForOutput = (text: string, colors: boolean): string =>
  (colors ? text : text.replace(ansi, "")).split("\n").flatMap((line) => wrapLine(line, helpWidth)).join("\n")

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
        console.log(...parts.map((part) =>
          typeof part === "string" ? helpForOutput(completeHelp(part, program, words), process.stdout.isTTY === true) : part
        ))
    } as Console.Console))
}
