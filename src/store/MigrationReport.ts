/**
 * Which migrations opening a database applied. The SQLite and PostgreSQL layers apply the
 * pending ones when they open; `migrate` provides a report to learn which, so that it can say
 * so (`applied 0005_usage_ledger, 0006_payments`). Without a report nothing is kept.
 */
import { Context, Effect, Option } from "effect"

export interface MigrationReportService {
  /** Notes migrations applied now, as `NNNN_name`. */
  readonly applied: (names: ReadonlyArray<string>) => Effect.Effect<void>
}

export class MigrationReport extends Context.Tag("dialog-bot/MigrationReport")<MigrationReport, MigrationReportService>() {}

/** Tells the report, if there is one, what the migrator returned (`[id, name]` of each applied). */
export const reportApplied = (applied: ReadonlyArray<readonly [number, string]>): Effect.Effect<void> =>
  Effect.flatMap(Effect.serviceOption(MigrationReport), (report) =>
    Option.isSome(report)
      ? report.value.applied(applied.map(([id, name]) => `${String(id).padStart(4, "0")}_${name}`))
      : Effect.void)

/** A report kept in memory: `run` gives what `effect` applied along with its value. */
export const withMigrationReport = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.suspend(() => {
    const names: Array<string> = []
    return effect.pipe(
      Effect.provideService(MigrationReport, { applied: (more) => Effect.sync(() => names.push(...more)) }),
      Effect.map((value) => [value, names as ReadonlyArray<string>] as const)
    )
  })

/** `applied 0005_x, 0006_y` or `no migration to apply`. */
export const describeApplied = (names: ReadonlyArray<string>): string =>
  names.length === 0 ? "no migration to apply" : `applied ${names.join(", ")}`
