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

class StepCounter extends Supervisor.AbstractSupervisor<number> {
  readonly value = Effect.sync(() => steps.count)
  override onEffect(): void {
    steps.count++
  }
}

/** The counting supervisor, with op supervision on, for the fibers run under it. */
export const countSteps: Layer.Layer<never> = Layer.merge(
  Supervisor.addSupervisor(new StepCounter()),
  RuntimeFlags.enableOpSupervision
)
