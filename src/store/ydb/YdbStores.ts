/**
 * The stores on YDB (tables from `./schema.ts`, created by `migrate`): one file per store
 * (`ClientStoreYdb`, `HistoryStoreYdb`, `InboxYdb`, `ConversationStateYdb`), the rows and their
 * mapping to records shared with the SQL stores (`../rows.ts`). Every value travels as a typed parameter (`./statements.ts`):
 * Telegram ids as Int64, exact both ways (the client hands Int64 columns over as exact numbers).
 */
import { Effect, Layer } from "effect"
import { YdbConfig } from "../StoreConfig.ts"
import { ClientStoreYdb } from "./ClientStoreYdb.ts"
import { ConversationStateYdb } from "./ConversationStateYdb.ts"
import { FeedbackStoreYdb } from "./FeedbackStoreYdb.ts"
import { HistoryStoreYdb } from "./HistoryStoreYdb.ts"
import { InboxYdb } from "./InboxYdb.ts"
import { ydbTables, type YdbTables } from "./schema.ts"
import { UsageLedgerYdb } from "./UsageLedgerYdb.ts"
import { YdbClientDriver, type YdbConnectionOptions } from "./YdbClient.ts"

/** The four stores on the `YdbClient` of the context. */
export const StoresOnYdb = (tables: YdbTables = ydbTables()) =>
  Layer.mergeAll(ClientStoreYdb(tables), HistoryStoreYdb(tables), InboxYdb(tables), ConversationStateYdb(tables), UsageLedgerYdb(tables), FeedbackStoreYdb(tables))

/** The four stores on YDB with their own driver. */
export const StoresYdb = (options: YdbConnectionOptions, tables: YdbTables = ydbTables()) =>
  StoresOnYdb(tables).pipe(Layer.provide(YdbClientDriver(options)))

/** The stores on the YDB that `YDB_CONNECTION_STRING` names. */
export const StoresYdbLive = Layer.unwrapEffect(Effect.map(YdbConfig, (config) => StoresYdb(config, ydbTables(config.tablePrefix))))
