/**
 * A tool the model may call: a name, a description, a Schema of its parameters and an Effect
 * handler. `defineTool` erases the parameter type behind a closure that decodes the model's
 * arguments first, so the registry can hold tools of any shape.
 */
import { Effect, JSONSchema, ParseResult, Schema } from "effect"
import type { TelegramId } from "../domain/Update.ts"

/** Who a tool runs for. */
export interface ToolContext {
  readonly chatId: TelegramId
  readonly userId: TelegramId
  readonly updateId: TelegramId
}

/** A tool could not do its work; the message goes back to the model as the tool's result. */
export class ToolFailure extends Schema.TaggedError<ToolFailure>()("ToolFailure", {
  message: Schema.String
}) {}

export interface Tool<R = never> {
  readonly name: string
  readonly description: string
  /** JSON Schema of the parameters, as sent to the model. */
  readonly jsonSchema: object
  /** Decodes the arguments (already parsed from JSON) and runs the handler. */
  readonly run: (args: unknown, context: ToolContext) => Effect.Effect<unknown, ToolFailure, R>
}

export interface ToolDefinition<A, I, R> {
  readonly name: string
  readonly description: string
  readonly parameters: Schema.Schema<A, I, never>
  readonly handler: (args: A, context: ToolContext) => Effect.Effect<unknown, ToolFailure, R>
}

const toolJsonSchema = (schema: Schema.Schema.AnyNoContext): object => {
  const { $schema: _ignored, ...rest } = JSONSchema.make(schema)
  return rest
}

export const defineTool = <A, I, R>(definition: ToolDefinition<A, I, R>): Tool<R> => {
  const decode = Schema.decodeUnknown(definition.parameters, { errors: "all", onExcessProperty: "error" })
  return {
    name: definition.name,
    description: definition.description,
    jsonSchema: toolJsonSchema(definition.parameters),
    run: (args, context) =>
      decode(args).pipe(
        Effect.mapError((error) =>
          new ToolFailure({
            message: `invalid arguments for ${definition.name}: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
          })
        ),
        Effect.flatMap((decoded) => definition.handler(decoded, context))
      )
  }
}
