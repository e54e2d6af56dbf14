/**
 * Counting effect's runtime steps (`BENCH_COUNT_STEPS=1`): a supervisor told of every
 * instruction a fiber runs (effect's op supervision). Unlike CPU time on a shared machine, the
 * count is the same from run to run, so it shows what a change to the hot path removed
 * (bench/README.md). Counting costs CPU itself: the other figures of such a run are not the
 * bot's.
 */
import { Effect, Layer, RuntimeFlags, Supervisor } from "effect"

/** Steps run so far in this process. */
export const steps = { count: 0 }

/**
 * With BENCH_COUNT_STEPS=where, the steps by kind and by the code they run (the first line of
 * the function an instruction carries, the same text for every closure made from one place):
 * `stepsWhere()` gives the most frequent first.
 */
const where = process.env.BENCH_COUNT_STEPS === "where" ? new Map<string, number>() : undefined
const texts = new WeakMap<object, string>()
const textOf = (value: unknown): string => {
  if (typeof value !== "function") return ""
  let text = texts.get(value)
  if (text === undefined) {
    text = String(value).replace(/\s+/g, " ").slice(0, 140)
    texts.set(value, text)
  }
  return text
}
const place = (effect: unknown): string => {
  const op = effect as { readonly _op?: string; readonly effect_instruction_i0?: unknown; readonly effect_instruction_i1?: unknown; readonly effect_instruction_i2?: unknown }
  const fn = typeof op.effect_instruction_i1 === "function" ? op.effect_instruction_i1
    : typeof op.effect_instruction_i0 === "function" ? op.effect_instruction_i0
    : op.effect_instruction_i2
  if (op._op === "Commit") {
    const commit = (effect as { readonly commit?: unknown }).commit
    return `Commit ${(effect as object).constructor?.name ?? ""} ${textOf(fn) || textOf(commit)}`
  }
  return `${op._op ?? "?"} ${textOf(fn)}`
}
const previous = new WeakMap<object, string>()

export const stepsWhere = (): ReadonlyArray<readonly [string, number]> =>
  where === undefined ? [] : [...where].sort((a, b) => b[1] - a[1])

export const resetWhere = (): void => where?.clear()

class StepCounter extends Supervisor.AbstractSupervisor<number> {
  readonly value = Effect.sync(() => steps.count)
  override onEffect(_fiber: unknown, effect: unknown): void {
    steps.count++
    if (where !== undefined) {
      let key = place(effect)
      const fiberKey = _fiber as object
      if (key === "Success " || key === "Failure " || key.startsWith("Commit  ") || key === "Commit Object ") key = `${key} after ${previous.get(fiberKey) ?? "?"}`
      else previous.set(fiberKey, key.slice(0, 100))
      where.set(key, (where.get(key) ?? 0) + 1)
    }
  }
}

/** The counting supervisor, with op supervision on, for the fibers run under it. */
export const countSteps: Layer.Layer<never> = Layer.merge(
  Supervisor.addSupervisor(new StepCounter()),
  RuntimeFlags.enableOpSupervision
)
