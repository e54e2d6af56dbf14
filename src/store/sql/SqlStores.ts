/**
 * The stores on an SQL database, written once for SQLite and PostgreSQL over @effect/sql's
 * `SqlClient`: `ClientStoreSql`, `HistoryStoreSql`, `InboxSql`, `ConversationStateSql`, the usage ledger
 * `UsageLedgerSql`, feedback on answers `FeedbackStoreSql` and the single-instance lease `InstanceLeaseSql`. What differs between the databases is the
 * `SqlDialect` record (`./SqlDialect.ts`) their database layer provides beside the client:
 * `SqliteDatabase` (`../sqlite/`) and `PostgresDatabase` (`../postgres/`), which also own the
 * connection, the migrations and the SQLite worker thread. The rows and their mapping to records
 * are shared with YDB (`../rows.ts`). YDB has no `SqlClient` and keeps its own stores (`../ydb/`).
 *
 * Adding a store over `SqlClient` for both databases:
 *
 * 1. Its table goes into both migrations (`../sqlite/migrations.ts`, `../postgres/migrations.ts`),
 *    as a new migration: the ones that ran stay as they are. Free text is `text` in SQLite and
 *    UTF-8 `bytea` in PostgreSQL (PostgreSQL's `text` cannot hold NUL); flags are 0/1 integers
 *    in SQLite and `boolean` in PostgreSQL; times are epoch milliseconds (`bigint`). Keys the bot
 *    makes itself (no user text) may stay `text` in both, as `conversation_state.key` does.
 * 2. One file here, `<Service>Sql.ts`, shaped like `ClientStoreSql.ts`: `make<Service>Sql` takes
 *    `SqlClient` and `SqlDialect`; every statement is parameterized and runs through the
 *    dialect's `run`; each operation is one `call(operation, table, …)` (the span's database and
 *    table, failures as StoreErrors, the deadline); free text goes in as `text(…)`/`optionalText`,
 *    flags as `flag(…)`, "no limit" as `noLimit`; rows come back through `rows(…)` and are decoded
 *    with Schema (a row schema in `../rows.ts` when YDB shares it). A statement that truly needs
 *    another SQL text per database takes it from a new field of `SqlDialectService`, set in both
 *    dialects — never a test of which database it is.
 * 3. Its layer joins `StoresOnSql` below when it belongs to every SQL store, and the store
 *    contract (`test/store/contract.ts`) runs it on both databases.
 */
import { Layer } from "effect"
import { ClientStoreSql } from "./ClientStoreSql.ts"
import { ConversationStateSql } from "./ConversationStateSql.ts"
import { FeedbackStoreSql } from "./FeedbackStoreSql.ts"
import { HistoryStoreSql } from "./HistoryStoreSql.ts"
import { InboxSql } from "./InboxSql.ts"
import { UsageLedgerSql } from "./UsageLedgerSql.ts"

/** The stores on the `SqlClient` and `SqlDialect` of the context: the dialog's four, the usage ledger and feedback. */
export const StoresOnSql = Layer.mergeAll(ClientStoreSql, HistoryStoreSql, InboxSql, ConversationStateSql, UsageLedgerSql, FeedbackStoreSql)
