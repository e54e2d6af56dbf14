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
