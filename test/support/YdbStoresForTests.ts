/**
 * The YDB stores the tests of one store run on: on the fake YDB (`./FakeYdb.ts`) started for a
 * `describe` block, and on a real YDB (`TEST_YDB_CONNECTION_STRING`) in a directory of their own,
 * migrated first — or, without that variable, the reason a contract on it is skipped.
 */
import { afterAll, beforeAll, beforeEach } from "@effect/vitest"
import { Duration, Layer } from "effect"
import type { StoreError } from "../../src/domain/errors.ts"
import type { Stores } from "../../src/runtime/BotLayer.ts"
import { migrateYdb, ydbTables } from "../../src/store/ydb/schema.ts"
import { YdbClientDriver, type YdbConnectionOptions } from "../../src/store/ydb/YdbClient.ts"
import { StoresOnYdb, StoresYdb } from "../../src/store/ydb/YdbStores.ts"
import { type FakeYdb, startFakeYdb } from "./FakeYdb.ts"

export const ydbOptions = (connectionString: string, timeout = Duration.seconds(5)): YdbConnectionOptions => ({
  connectionString,
  credentials: { _tag: "Anonymous" },
  queryTimeout: timeout,
  connectTimeout: timeout
})

/** Call inside `describe`: a fake YDB started before the block's tests, reset before each, closed after them. */
export const fakeYdbStores = (): { readonly fake: () => FakeYdb; readonly stores: () => Layer.Layer<Stores, StoreError> } => {
  // Started by beforeAll, before any test of the block reads it.
  let fake!: FakeYdb
  beforeAll(async () => {
    fake = await startFakeYdb()
  })
  afterAll(async () => {
    await fake.close()
  })
  beforeEach(() => fake.reset())
  return { fake: () => fake, stores: () => StoresYdb(ydbOptions(fake.connectionString)) }
}

/** The stores on the real YDB of TEST_YDB_CONNECTION_STRING under `directory`, migrated; without it, why not. */
export const realYdbStores = (directory: string): { readonly layer: Layer.Layer<Stores, StoreError>; readonly skip: string | undefined } => {
  const connectionString = process.env["TEST_YDB_CONNECTION_STRING"]
  if (connectionString === undefined) {
    return { layer: Layer.die("TEST_YDB_CONNECTION_STRING is not set"), skip: "set TEST_YDB_CONNECTION_STRING to run it against a YDB server" }
  }
  const tables = ydbTables(`dialog_bot_test/${directory}_${Date.now().toString(36)}/`)
  return {
    layer: Layer.merge(StoresOnYdb(tables), Layer.effectDiscard(migrateYdb(tables, "1 day"))).pipe(
      Layer.provide(YdbClientDriver(ydbOptions(connectionString, Duration.seconds(20))))
    ),
    skip: undefined
  }
}
