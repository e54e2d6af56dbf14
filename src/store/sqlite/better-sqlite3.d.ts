/**
 * The part of better-sqlite3's API the SQLite worker uses (the package ships no types; it is
 * installed with @effect/sql-sqlite-node).
 */
declare module "better-sqlite3" {
  interface RunResult {
    readonly changes: number
    readonly lastInsertRowid: number | bigint
  }

  interface Statement {
    /** Whether the statement returns rows. */
    readonly reader: boolean
    all(...params: ReadonlyArray<unknown>): Array<unknown>
    run(...params: ReadonlyArray<unknown>): RunResult
    raw(toggle?: boolean): this
    safeIntegers(toggle?: boolean): this
  }

  interface Options {
    readonly readonly?: boolean
    readonly fileMustExist?: boolean
    readonly timeout?: number
  }

  interface Database {
    prepare(source: string): Statement
    pragma(source: string, options?: { readonly simple?: boolean }): unknown
    close(): this
    readonly open: boolean
    readonly inTransaction: boolean
  }

  interface DatabaseConstructor {
    new(filename: string, options?: Options): Database
  }

  const Database: DatabaseConstructor
  export default Database
  export type { Database, Options, RunResult, Statement }
}
