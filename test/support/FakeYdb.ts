/**
 * An in-process fake of YDB's gRPC API for the real SDK to talk to: the Discovery service
 * (ListEndpoints names the fake itself) and the Query service (sessions and ExecuteQuery).
 *
 * It does not run YQL. Each executed query is recorded with its text and its typed parameters
 * (decoded back to type names and JS values), and answered from a script: the first rule whose
 * pattern occurs in the query text gives the next reply of its list (the last one repeats).
 * A reply is result sets built from @ydbjs/value values, a YDB status with issues, or a call
 * that hangs until the client cancels it. Queries no rule matches get an empty success.
 *
 * Transactions are kept as YDB keeps them: begun inline by a query's transaction control
 * (`beginTx` with its mode) or by BeginTransaction, committed by `commitTx` on a query that
 * succeeds or by CommitTransaction, rolled back by RollbackTransaction or when a query in them
 * fails or is cancelled. A query naming a transaction that is not open fails with NOT_FOUND.
 *
 * The Auth service logs a user in (any user, any password) with a ticket the calls then carry;
 * each executed query records the ticket it came with.
 */
import { create } from "@bufbuild/protobuf"
import { anyPack } from "@bufbuild/protobuf/wkt"
import { DiscoveryServiceDefinition, ListEndpointsResultSchema } from "@ydbjs/api/discovery"
import { StatusIds_StatusCode } from "@ydbjs/api/operation"
import type { ExecuteQueryRequest } from "@ydbjs/api/query"
import { QueryServiceDefinition } from "@ydbjs/api/query"
import { type Type as YdbType, Type_PrimitiveTypeId } from "@ydbjs/api/value"
import { fromYdb, toJs, type Value } from "@ydbjs/value"
import { AuthServiceDefinition, LoginResultSchema } from "@ydbjs/api/auth"
import { type CallContext, createServer, ServerError, Status } from "nice-grpc"

export interface ExecutedQuery {
  readonly text: string
  /** Parameter name → its YDB type as text (e.g. `Int64`, `Optional<Utf8>`) and its JS value. */
  readonly parameters: Record<string, { readonly type: string; readonly value: unknown }>
  readonly sessionId: string
  readonly hasTxControl: boolean
  /** The transaction the query ran in, if any. */
  readonly txId: string | undefined
  /** The `x-ydb-auth-ticket` the call carried. */
  readonly authTicket: string | undefined
}

export interface Transaction {
  readonly id: string
  /** `serializableReadWrite`, `onlineReadOnly`, … as the transaction settings name it. */
  readonly mode: string
  /** How it was begun: by a query's transaction control or by BeginTransaction. */
  readonly begun: "inline" | "rpc"
  state: "open" | "committed" | "rolledBack"
  /** Texts of the queries run in it. */
  readonly queries: Array<string>
}

export interface ResultSet {
  readonly columns: ReadonlyArray<string>
  /** One array of values per row; a column's type is taken from its value in the first row. */
  readonly rows: ReadonlyArray<ReadonlyArray<Value>>
}

export type Reply =
  | { readonly _tag: "Rows"; readonly resultSets: ReadonlyArray<ResultSet> }
  | { readonly _tag: "Status"; readonly status: StatusIds_StatusCode; readonly issueCode?: number; readonly message?: string }
  | { readonly _tag: "Hang" }

export const rows = (...resultSets: ReadonlyArray<ResultSet>): Reply => ({ _tag: "Rows", resultSets })
export const status = (code: StatusIds_StatusCode, issueCode?: number, message?: string): Reply => ({
  _tag: "Status",
  status: code,
  ...(issueCode === undefined ? {} : { issueCode }),
  ...(message === undefined ? {} : { message })
})
export const hang: Reply = { _tag: "Hang" }

interface Rule {
  readonly pattern: string
  readonly replies: Array<Reply>
}

export interface FakeYdb {
  readonly port: number
  readonly connectionString: string
  readonly executed: Array<ExecutedQuery>
  /** Every transaction begun, in order. */
  readonly transactions: Array<Transaction>
  /** Logins of the Auth service: user and password. */
  readonly logins: Array<{ readonly user: string; readonly password: string }>
  /** When set, DeleteSession fails with this gRPC status (the SDK deletes sessions without awaiting). */
  failDeleteSession: Status | undefined
  /** Counters of what the SDK did. */
  readonly stats: {
    sessionsCreated: number
    sessionsDeleted: number
    attachedNow: number
    cancelledQueries: number
    listEndpoints: number
  }
  /** Resolves when the server sees the next query cancelled by its client. */
  readonly nextCancellation: () => Promise<void>
  /** Adds a rule: queries whose text contains `pattern` get these replies in turn. */
  readonly on: (pattern: string, ...replies: ReadonlyArray<Reply>) => void
  readonly reset: () => void
  readonly close: () => Promise<void>
}

/** A wire type as YQL writes it: `Int64`, `Optional<Utf8>`, … */
const typeName = (type: YdbType): string => {
  switch (type.type.case) {
    case "typeId": {
      const name = Type_PrimitiveTypeId[type.type.value]
      return name === "UTF8" ? "Utf8" : name.charAt(0) + name.slice(1).toLowerCase().replace(/int(\d+)/, "int$1")
    }
    case "optionalType":
      return type.type.value.item === undefined ? "Optional<?>" : `Optional<${typeName(type.type.value.item)}>`
    default:
      return String(type.type.case)
  }
}

const decodeParameters = (request: ExecuteQueryRequest): ExecutedQuery["parameters"] => {
  const out: Record<string, { type: string; value: unknown }> = {}
  for (const [name, typed] of Object.entries(request.parameters)) {
    if (typed.type === undefined || typed.value === undefined) continue
    const value = fromYdb(typed.value, typed.type)
    out[name] = { type: typeName(typed.type), value: toJs(value) }
  }
  return out
}

/** The generated definitions also carry `name` and `fullName`, which a nice-grpc server would take for methods. */
const methodsOf = <D extends object>(definition: D): Omit<D, "name" | "fullName"> => {
  const methods = Object.fromEntries(Object.entries(definition).filter(([key]) => key !== "name" && key !== "fullName"))
  return methods as Omit<D, "name" | "fullName">
}

const waitForAbort = (signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener("abort", () => resolve(), { once: true })
  })

export const startFakeYdb = async (database = "/local"): Promise<FakeYdb> => {
  const executed: Array<ExecutedQuery> = []
  const transactions: Array<Transaction> = []
  const logins: Array<{ user: string; password: string }> = []
  let failDeleteSession: Status | undefined
  const cancellationWaiters: Array<() => void> = []
  const rules: Array<Rule> = []
  const stats = { sessionsCreated: 0, sessionsDeleted: 0, attachedNow: 0, cancelledQueries: 0, listEndpoints: 0 }
  let port = 0

  const nextReply = (text: string): Reply => {
    const rule = rules.find((r) => text.includes(r.pattern))
    if (rule === undefined) return rows()
    const reply = rule.replies.length > 1 ? rule.replies.shift() : rule.replies[0]
    return reply ?? rows()
  }

  const begin = (mode: string, begun: Transaction["begun"]): Transaction => {
    const tx: Transaction = { id: `tx-${transactions.length + 1}`, mode, begun, state: "open", queries: [] }
    transactions.push(tx)
    return tx
  }
  const openTransaction = (id: string) => transactions.find((tx) => tx.id === id && tx.state === "open")
  const notFound = (id: string) => ({
    status: StatusIds_StatusCode.NOT_FOUND,
    issues: [{ message: `Transaction not found: ${id}`, issueCode: 2015, severity: 1, issues: [] }]
  })
  /** The transaction a query runs in, begun here when its control says so; a string when it names none that is open. */
  const transactionOf = (request: ExecuteQueryRequest): Transaction | undefined | string => {
    const selector = request.txControl?.txSelector
    if (selector?.case === "beginTx") return begin(String(selector.value.txMode.case), "inline")
    if (selector?.case === "txId") return openTransaction(selector.value) ?? selector.value
    return undefined
  }

  const server = createServer()
  server.add(methodsOf(DiscoveryServiceDefinition), {
    listEndpoints: async () => {
      stats.listEndpoints++
      const result = create(ListEndpointsResultSchema, {
        endpoints: [{ address: "127.0.0.1", port, nodeId: 1, service: ["query", "discovery"] }],
        selfLocation: "local"
      })
      return { operation: { id: "", ready: true, status: StatusIds_StatusCode.SUCCESS, issues: [], result: anyPack(ListEndpointsResultSchema, result) } }
    },
    whoAmI: async () => ({})
  })
  server.add(methodsOf(AuthServiceDefinition), {
    login: async (request) => {
      logins.push({ user: request.user, password: request.password })
      const result = create(LoginResultSchema, { token: `ticket-of-${request.user}` })
      return { operation: { id: "", ready: true, status: StatusIds_StatusCode.SUCCESS, issues: [], result: anyPack(LoginResultSchema, result) } }
    }
  })
  server.add(methodsOf(QueryServiceDefinition), {
    createSession: async () => {
      stats.sessionsCreated++
      return { status: StatusIds_StatusCode.SUCCESS, issues: [], sessionId: `session-${stats.sessionsCreated}`, nodeId: 1n }
    },
    deleteSession: async () => {
      if (failDeleteSession !== undefined) throw new ServerError(failDeleteSession, "scripted DeleteSession failure")
      stats.sessionsDeleted++
      return { status: StatusIds_StatusCode.SUCCESS, issues: [] }
    },
    async *attachSession(_request: unknown, context: CallContext) {
      stats.attachedNow++
      try {
        yield { status: StatusIds_StatusCode.SUCCESS, issues: [] }
        await waitForAbort(context.signal)
      } finally {
        stats.attachedNow--
      }
    },
    async *executeQuery(request: ExecuteQueryRequest, context: CallContext) {
      const text = request.query.case === "queryContent" ? request.query.value.text : ""
      const tx = transactionOf(request)
      executed.push({
        text,
        parameters: decodeParameters(request),
        sessionId: request.sessionId,
        hasTxControl: request.txControl !== undefined,
        txId: typeof tx === "string" ? tx : tx?.id,
        authTicket: context.metadata.get("x-ydb-auth-ticket")
      })
      if (typeof tx === "string") {
        yield { ...notFound(tx), resultSetIndex: 0n }
        return
      }
      tx?.queries.push(text)
      const rollback = () => {
        if (tx !== undefined) tx.state = "rolledBack"
      }
      const reply = nextReply(text)
      if (reply._tag === "Hang") {
        await waitForAbort(context.signal)
        stats.cancelledQueries++
        rollback()
        for (const wake of cancellationWaiters.splice(0)) wake()
        return
      }
      if (reply._tag === "Status") {
        rollback()
        yield {
          status: reply.status,
          issues: [{ message: reply.message ?? "scripted", issueCode: reply.issueCode ?? 0, severity: 1, issues: [] }],
          resultSetIndex: 0n
        }
        return
      }
      if (tx !== undefined && request.txControl?.commitTx === true) tx.state = "committed"
      const txMeta = tx === undefined || tx.state !== "open" ? undefined : { id: tx.id }
      let index = 0n
      for (const set of reply.resultSets) {
        const first = set.rows[0] ?? []
        yield {
          status: StatusIds_StatusCode.SUCCESS,
          issues: [],
          resultSetIndex: index,
          ...(txMeta === undefined ? {} : { txMeta }),
          resultSet: {
            columns: set.columns.map((name, i) => {
              const value = first[i]
              return value === undefined ? { name } : { name, type: value.type.encode() }
            }),
            rows: set.rows.map((row) => ({ items: row.map((v) => v.encode()) }))
          }
        }
        index++
      }
      if (reply.resultSets.length === 0) yield { status: StatusIds_StatusCode.SUCCESS, issues: [], ...(txMeta === undefined ? {} : { txMeta }) }
    },
    beginTransaction: async (request) => {
      const tx = begin(String(request.txSettings?.txMode.case), "rpc")
      return { status: StatusIds_StatusCode.SUCCESS, issues: [], txMeta: { id: tx.id } }
    },
    commitTransaction: async (request) => {
      const tx = openTransaction(request.txId)
      if (tx === undefined) return notFound(request.txId)
      tx.state = "committed"
      return { status: StatusIds_StatusCode.SUCCESS, issues: [] }
    },
    rollbackTransaction: async (request) => {
      const tx = openTransaction(request.txId)
      if (tx === undefined) return notFound(request.txId)
      tx.state = "rolledBack"
      return { status: StatusIds_StatusCode.SUCCESS, issues: [] }
    },
    executeScript: async () => ({ ready: true, status: StatusIds_StatusCode.UNSUPPORTED, issues: [] }),
    fetchScriptResults: async () => ({ status: StatusIds_StatusCode.UNSUPPORTED, issues: [] })
  })
  port = await server.listen("127.0.0.1:0")

  return {
    port,
    connectionString: `grpc://127.0.0.1:${port}${database}`,
    executed,
    transactions,
    logins,
    get failDeleteSession() {
      return failDeleteSession
    },
    set failDeleteSession(code) {
      failDeleteSession = code
    },
    stats,
    nextCancellation: () => new Promise<void>((resolve) => cancellationWaiters.push(resolve)),
    on: (pattern, ...replies) => {
      rules.push({ pattern, replies: [...replies] })
    },
    reset: () => {
      executed.length = 0
      rules.length = 0
      transactions.length = 0
      logins.length = 0
      failDeleteSession = undefined
    },
    close: async () => {
      server.forceShutdown()
    }
  }
}
