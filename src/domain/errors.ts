/** Tagged errors shared across services. Each service module defines the errors only it raises. */
import { Schema } from "effect"

/** A store (memory, SQLite, YDB) could not do what was asked. */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  message: Schema.String,
  retryable: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}

/** A configuration or profile file is invalid. */
export class ConfigurationError extends Schema.TaggedError<ConfigurationError>()("ConfigurationError", {
  source: Schema.String,
  message: Schema.String
}) {}

/** A server could not listen: its port is taken by another process. */
export class PortInUse extends Schema.TaggedError<PortInUse>()("PortInUse", {
  /** The variable that sets the port (`PORT`, `METRICS_PORT`). */
  setting: Schema.String,
  port: Schema.Number
}) {
  override get message(): string {
    return `${this.setting} ${this.port} is in use: stop the other process on that port or set ${this.setting} to a free port.`
  }
}

/** The port of an `EADDRINUSE` error anywhere in `error`'s chain of causes. */
const addressInUsePort = (error: unknown, depth = 0): number | undefined => {
  if (typeof error !== "object" || error === null || depth > 8) return undefined
  if ("code" in error && error.code === "EADDRINUSE") {
    return "port" in error && typeof error.port === "number" ? error.port : -1
  }
  return "cause" in error ? addressInUsePort(error.cause, depth + 1) : undefined
}

/** `error` as `PortInUse` when a listen failed on a taken port (`setting` names the variable), else unchanged. */
export const asPortInUse = (setting: string, configuredPort: number) => <E>(error: E): E | PortInUse => {
  const port = addressInUsePort(error)
  return port === undefined ? error : new PortInUse({ setting, port: port === -1 ? configuredPort : port })
}
