/**
 * Which MCP servers the bot takes tools from: `MCP_CONFIG` names a JSON file in the
 * `mcpServers` format desktop MCP clients use — a stdio server (`command`, `args`, `env`) or a
 * Streamable HTTP server (`url`, `headers`) per name. This module reads and checks the file
 * only; the SDK is loaded by `McpTools.ts`, and only when the file is set.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Config, Effect, Option, Schema } from "effect"
import { Settings } from "../../config.ts"
import { ConfigurationError } from "../../domain/errors.ts"
import { describeProblems } from "../../profile/BotProfile.ts"

export const McpConfigSchema = Config.all({
  /** A JSON file of MCP servers (`{"mcpServers": {…}}`); no MCP tools when unset. */
  file: Config.option(Config.string("MCP_CONFIG"))
})
export type McpConfigShape = Config.Config.Success<typeof McpConfigSchema>

export class McpConfig extends Settings<McpConfig>()("dialog-bot/McpConfig", McpConfigSchema) {}

/**
 * A server's name is the prefix of its tools' names (`crm__find_order`): letters, digits and
 * `-`, with single `_` between them, so that `__` always ends the server's part.
 */
export const ServerName = Schema.String.pipe(
  Schema.pattern(/^[a-zA-Z0-9-]+(?:_[a-zA-Z0-9-]+)*$/, {
    message: (issue) =>
      `expected a server name (letters, digits, - and single _), got ${JSON.stringify(issue.actual)}`
  }),
  Schema.maxLength(32, { message: () => "expected a server name of at most 32 characters" })
)

const NonEmpty = Schema.String.pipe(Schema.minLength(1, { message: () => "expected a non-empty string" }))

export const StdioServer = Schema.Struct({
  command: NonEmpty,
  args: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** Added to the small safe environment the SDK passes on (PATH, HOME…); the bot's secrets are not. */
  env: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) }),
  /** Working directory of the process; the bot's when not given. */
  cwd: Schema.optional(NonEmpty)
})

export const HttpServer = Schema.Struct({
  url: NonEmpty.pipe(
    Schema.filter((url) => URL.canParse(url) && /^https?:$/.test(new URL(url).protocol) || "expected an http(s) URL")
  ),
  headers: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.String }), { default: () => ({}) })
})

export const ServerEntry = Schema.Union(StdioServer, HttpServer)

export const McpFile = Schema.Struct({
  mcpServers: Schema.Record({ key: ServerName, value: ServerEntry })
})

export type McpServerSpec =
  | { readonly name: string; readonly kind: "stdio"; readonly stdio: typeof StdioServer.Type }
  | { readonly name: string; readonly kind: "http"; readonly http: typeof HttpServer.Type }

/** The servers of a decoded file, in the file's order. */
export const serversOf = (file: typeof McpFile.Type): ReadonlyArray<McpServerSpec> =>
  Object.entries(file.mcpServers).map(([name, entry]): McpServerSpec =>
    "command" in entry ? { name, kind: "stdio", stdio: entry } : { name, kind: "http", http: entry }
  )

const decodeFile = Schema.decodeUnknown(Schema.parseJson(McpFile), { errors: "all", onExcessProperty: "error" })

/** Reads and checks an MCP servers file; any problem names the file and the field. */
export const loadMcpServers = (file: string): Effect.Effect<ReadonlyArray<McpServerSpec>, ConfigurationError> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const source = path.resolve(file)
    const fail = (message: string) => new ConfigurationError({ source, message })
    const text = yield* fs.readFileString(source).pipe(
      Effect.mapError((e) => fail(`MCP_CONFIG: cannot read the MCP servers file: ${e.message}`))
    )
    const decoded = yield* decodeFile(text).pipe(
      Effect.mapError((e) => fail(`MCP_CONFIG: invalid MCP servers file:\n${describeProblems(e, text)}`))
    )
    return serversOf(decoded)
  }).pipe(Effect.provide(NodeContext.layer))

/** The servers `MCP_CONFIG` names; none when it is not set. */
export const configuredMcpServers = Effect.flatMap(McpConfig.config, ({ file }) =>
  Option.match(file, {
    onNone: () => Effect.succeed<ReadonlyArray<McpServerSpec>>([]),
    onSome: loadMcpServers
  }))
