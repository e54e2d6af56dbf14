/** The store contract against every store layer. */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer } from "effect"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { storeContract } from "./contract.ts"

/** A fresh SQLite file in a temporary directory, removed when the layer is released. */
export const sqliteTempFile = Layer.unwrapScoped(
  Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "bot-store-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    ),
    (dir) => StoresSqlite({ path: join(dir, "nested", "bot.sqlite"), busyTimeout: "5 seconds" })
  )
)

storeContract("memory", StoresMemory)
storeContract("sqlite (temporary file)", sqliteTempFile)
storeContract("sqlite (:memory:)", StoresSqlite({ path: ":memory:", busyTimeout: "1 second" }))
