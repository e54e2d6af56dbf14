/**
 * What the statements of the YDB stores share: values as typed parameters (Telegram ids as
 * Int64, texts as Utf8, inbox times as Timestamp), and the answer of an INSERT whose key exists.
 */
import { StatusIds_StatusCode } from "@ydbjs/api/operation"
import { Optional } from "@ydbjs/value/optional"
import { Int64, Int64Type, Text, TextType, Timestamp, Uint64 } from "@ydbjs/value/primitive"
import type { Rows, YdbStatus } from "./YdbClient.ts"

export const int64 = (n: number) => new Int64(BigInt(n))
export const optionalInt64 = (n: number | undefined) => new Optional(n === undefined ? null : int64(n), new Int64Type())
export const uint64 = (n: number) => new Uint64(BigInt(n))
export const text = (s: string) => new Text(s)
export const optionalText = (s: string | undefined) => new Optional(s === undefined ? null : new Text(s), new TextType())
export const timestamp = (millis: number) => new Timestamp(new Date(millis))

/** INSERT of an existing key fails with PRECONDITION_FAILED (issue 2012, "Conflict with existing key"). */
export const isKeyConflict = (status: YdbStatus) =>
  status.code === StatusIds_StatusCode.PRECONDITION_FAILED &&
  (status.issueCodes.length === 0 || status.issueCodes.includes(2012))

const conflict = Symbol.for("dialog-bot/ydb/key-conflict")
const conflictResult: ReadonlyArray<Rows> = Object.assign([], { [conflict]: true })

/** For `QueryOptions.onStatus`: a key conflict is a result (see `wasConflict`), not a failure. */
export const onKeyConflict = (status: YdbStatus) => (isKeyConflict(status) ? conflictResult : undefined)

/** Whether the results are those of a key conflict. */
export const wasConflict = (results: ReadonlyArray<Rows>) => results === conflictResult
