/**
 * Which MCP servers the bot takes tools from: `MCP_CONFIG` names a JSON file in the
 * `mcpServers` format desktop MCP clients use — a stdio server (`command`, `args`, `env`) or a
 * Streamable HTTP server (`url`, `headers`) per name. This module reads and checks the file
 * only; the SDK is loaded by `McpTools.ts`, and only when the file is set.
 */
import { FileSystem, Path } from "@effect/platform"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Config, Effect, Either, Option, ParseResult, Schema } from "effect"
import { Settings } from "../../config.ts"
import { ConfigurationError } from "../../domain/errors.ts"
import { describeProblems, fieldPath } from "../../profile/BotProfile.ts"

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

/** The file's outline; each entry is checked against the shape it means (see `checkEntry`). */
const McpFile = Schema.parseJson(Schema.Struct({
  mcpServers: Schema.Record({ key: Schema.String, value: Schema.Object })
}))

export type McpServerSpec =
  | { readonly name: string; readonly kind: "stdio"; readonly stdio: typeof StdioServer.Type }
  | { readonly name: string; readonly kind: "http"; readonly http: typeof HttpServer.Type }

const options = { errors: "all", onExcessProperty: "error" } as const
const decodeStdio = Schema.decodeUnknownEither(StdioServer, options)
const decodeHttp = Schema.decodeUnknownEither(HttpServer, options)
const decodeName = Schema.decodeUnknownEither(ServerName)

const problemsOf = (path: ReadonlyArray<PropertyKey>, error: ParseResult.ParseError): ReadonlyArray<string> =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => `  ${fieldPath([...path, ...issue.path])}: ${issue.message}`)

/**
 * One server: a stdio server when it has `command` (or no `url`), else a Streamable HTTP
 * server, so that a problem is told against the shape the entry means, not both.
 */
const checkEntry = (name: string, entry: object): Either.Either<McpServerSpec, ReadonlyArray<string>> => {
  const path = ["mcpServers", name]
  const badName = Either.match(decodeName(name), { onLeft: (e) => problemsOf(path, e), onRight: () => [] })
  const spec = "command" in entry || !("url" in entry)
    ? Either.map(decodeStdio(entry), (stdio): McpServerSpec => ({ name, kind: "stdio", stdio }))
    : Either.map(decodeHttp(entry), (http): McpServerSpec => ({ name, kind: "http", http }))
  const problems = [...badName, ...Either.match(spec, { onLeft: (e) => problemsOf(path, e), onRight: () => [] })]
  return Either.isRight(spec) && problems.length === 0 ? Either.right(spec.right) : Either.left(problems)
}

/** Reads and checks an MCP servers file; any problem names the file and the field. */
export const loadMcpServers = (file: string): Effect.Effect<ReadonlyArray<McpServerSpec>, ConfigurationError> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const source = path.resolve(file)
    const fail = (problems: string) => new ConfigurationError({ source, message: `MCP_CONFIG: invalid MCP servers file:\n${problems}` })
    const text = yield* fs.readFileString(source).pipe(
      Effect.mapError((e) => new ConfigurationError({ source, message: `MCP_CONFIG: cannot read the MCP servers file: ${e.message}` }))
    )
    const outline = yield* Schema.decodeUnknown(McpFile, options)(text).pipe(
      Effect.mapError((e) => fail(describeProblems(e, text)))
    )
    const checked = Object.entries(outline.mcpServers).map(([name, entry]) => checkEntry(name, entry))
    const problems = checked.flatMap((entry) => Either.isLeft(entry) ? entry.left : [])
    if (problems.length > 0) return yield* Effect.fail(fail(problems.join("\n")))
    return checked.flatMap((entry) => Either.isRight(entry) ? [entry.right] : [])
  }).pipe(Effect.provide(NodeContext.layer))

/** The servers `MCP_CONFIG` names; none when it is not set. */
export const configuredMcpServers = Effect.flatMap(McpConfig.config, ({ file }) =>
  Option.match(file, {
    onNone: () => Effect.succeed<ReadonlyArray<McpServerSpec>>([]),
    onSome: loadMcpServers
  }))
