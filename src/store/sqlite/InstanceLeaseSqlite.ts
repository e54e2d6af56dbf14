/**
 * The single-instance lease on the SQLite database (`../InstanceLeaseSql.ts`). Processes that
 * share a file share a machine, so the lease runs on the process clock.
 */
import { Clock, Layer } from "effect"
import { InstanceLease } from "../InstanceLease.ts"
import { makeInstanceLeaseSql } from "../InstanceLeaseSql.ts"
import { sqliteCall } from "./statement.ts"

/** The lease on the `SqlClient` of the context (see `SqliteDatabase`). */
export const InstanceLeaseSqlite = Layer.effect(InstanceLease, makeInstanceLeaseSql({ now: Clock.currentTimeMillis, call: sqliteCall }))
