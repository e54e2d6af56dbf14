/**
 * A tool the model may call: a name, a description, a Schema of its parameters and an Effect
 * handler. `defineTool` erases the parameter type behind a closure that decodes the model's
 * arguments first, so the registry can hold tools of any shape.
 */
import { Data, Effect, JSONSchema, ParseResult, Schema } from "effect"
import type { TelegramId } from "../domain/Update.ts"
import type { ImagePart } from "../llm/LanguageModel.ts"

/** Who a tool runs for. */
export interface ToolContext {
  readonly chatId: TelegramId
  readonly userId: TelegramId
  readonly updateId: TelegramId
  /** The forum topic of the conversation; absent elsewhere. */
  readonly threadId?: number | undefined
  /** The business connection the conversation runs on; absent elsewhere. */
  readonly businessConnectionId?: string | undefined
  /** The dialog stage the tool is called in. */
  readonly stage?: string | undefined
}

/** A tool could not do its work; the message goes back to the model as the tool's result. */
export class ToolFailure extends Schema.TaggedError<ToolFailure>()("ToolFailure", {
  message: Schema.String
}) {}

/**
 * What a tool returns when its result is text already (not a value to write as JSON), maybe
 * with pictures the model should look at: MCP tools answer this way.
 */
export class ToolOutput extends Data.Class<{
  readonly text: string
  readonly images: ReadonlyArray<ImagePart>
}> {}

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

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
type JsonObject = { readonly [key: string]: Json }

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * A JSON Schema any OpenAI-compatible endpoint accepts: `$ref`s into `$defs` inlined (local
 * servers that compile schemas to grammars often reject references), no `$schema`/`$id`, no
 * titles Effect derives from refinements, no empty `required`, a single-element `allOf` merged
 * into its parent.
 */
const inline = (node: Json, defs: JsonObject, depth: number): Json => {
  if (Array.isArray(node)) return node.map((item: Json) => inline(item, defs, depth))
  if (!isObject(node)) return node
  const out: Record<string, Json> = {}
  const ref = node["$ref"]
  if (typeof ref === "string" && ref.startsWith("#/$defs/") && depth < 32) {
    const target = defs[ref.slice("#/$defs/".length)]
    if (isObject(target)) {
      const resolved = inline(target, defs, depth + 1)
      if (isObject(resolved)) Object.assign(out, resolved)
    }
  }
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" || key === "$defs" || key === "$schema" || key === "$id" || key === "title") continue
    if (key === "required" && Array.isArray(value) && value.length === 0) continue
    out[key] = key === "properties" && isObject(value)
      ? Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, inline(schema, defs, depth)]))
      : inline(value, defs, depth)
  }
  const allOf = out["allOf"]
  if (Array.isArray(allOf) && allOf.length === 1 && isObject(allOf[0])) {
    delete out["allOf"]
    return { ...allOf[0], ...out }
  }
  return out
}

/** The parameters' JSON Schema as a tool spec wants it: always an object schema at the top. */
export const toolJsonSchema = (schema: Schema.Schema.AnyNoContext): object =>
  modelJsonSchema(JSONSchema.make(schema) as unknown as JsonObject)

/** A JSON Schema from elsewhere (an MCP server's tool) made fit for the model, as {@link toolJsonSchema}'s. */
export const modelJsonSchema = (made: { readonly [key: string]: unknown }): object => {
  if (!isObject(made as Json)) return { type: "object", properties: {}, additionalProperties: false }
  const defs = isObject(made["$defs"] as Json) ? made["$defs"] as JsonObject : {}
  const inlined = inline(made as JsonObject, defs, 0)
  if (isObject(inlined) && inlined["type"] === "object") {
    return { ...inlined, properties: isObject(inlined["properties"]) ? inlined["properties"] : {} }
  }
  // `Schema.Struct({})` is "any object or array" in JSON Schema; a tool takes an object.
  return { type: "object", properties: {}, additionalProperties: false }
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
