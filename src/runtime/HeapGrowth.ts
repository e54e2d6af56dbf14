/**
 * How far V8 lets the heap grow past what the last full collection kept. On a machine with
 * several GB of memory V8 allows up to 4× before the next full collection, and a busy bot makes
 * garbage fast: in W1 (bench/README.md) the heap reached 330 MB with 80 MB of it alive, and
 * the process 550 MB; at 1.25× (this setting) it peaked at 326–339 MB against grammY's peer's
 * 270–280 MB, for no measurable CPU (the young generation's collections, not these, take most
 * of the garbage collector's time).
 *
 * Set when the command line starts (`runBot`): V8 reads the flag at every full collection, so it
 * applies from then on, to the SQLite worker's heap too. On node's command line it does more:
 * W1's peak was 326–339 MB with `node --heap-growing-percent=25` (1.2× grammY's), 386–397 MB
 * set at run time (1.45×), so `npm start` passes it there (package.json).
 *
 * An operator's own `--heap-growing-percent` on node's command line (`node
 * --heap-growing-percent=100 bin/dialog-bot.mjs serve`; 0 is V8's own growth) is left as it
 * is. Node does not take V8's heap flags from `NODE_OPTIONS`.
 */
import { setFlagsFromString } from "node:v8"

/** The heap may grow to 1.25× what the last full collection kept. */
export const heapGrowingPercent = 25

const flag = "--heap-growing-percent"

/** The flag to set, or `undefined` when the operator chose one (node's `execArgv`; V8 also spells it with underscores). */
export const heapGrowthFlag = (execArgv: ReadonlyArray<string>): string | undefined => {
  const chosen = execArgv.some((arg) => {
    const name = arg.split("=")[0]!.replaceAll("_", "-")
    return name === flag
  })
  return chosen ? undefined : `${flag}=${heapGrowingPercent}`
}

/** Sets the heap's growth for this process unless its operator already did. */
export const tuneHeapGrowth = (): void => {
  const chosen = heapGrowthFlag(process.execArgv)
  if (chosen !== undefined) setFlagsFromString(chosen)
}
