/**
 * A team's bot: its profile, tools and in-chat commands, and the team's own services those use
 * (an order system, a CRM client). The command line (`runBot`) runs every command — the live
 * bot, `chat`, `replay`, the demo — on the bot a definition describes, with the parts (which
 * Telegram, which model, which stores) chosen by each command and the configuration.
 *
 * `BotAssembly` is how the commands get it: a service holding the definition, turned into the
 * whole bot for the parts a command picks; without one provided, the built-in bot. The bot's
 * modules are imported when a command builds it, so the command line's `--help` loads none.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { type ConfigError, Context, Effect, Layer, Schema } from "effect"
import type { Command } from "../dialog/Command.ts"
import type { ConfigurationError, StoreError } from "../domain/errors.ts"
import type { Tool } from "../tools/Tool.ts"
import { lazyLayer } from "../effect/lazyLayer.ts"
import type { BotParts, BotServices, ToolEnvironment } from "./BotLayer.ts"

export interface BotDefinition<R = never, E = never> {
  /** The profile file (prompts, stages, texts); the one `BOT_PROFILE` names when not given. */
  readonly profile?: string
  /** Tools the model may call; the built-in ones when not given. */
  readonly tools?: ReadonlyArray<Tool<ToolEnvironment | R>>
  /** In-chat commands answered without the model; the built-in ones when not given. */
  readonly commands?: ReadonlyArray<Command<ToolEnvironment | R>>
  /** The team's services the tools and commands use. */
  readonly services?: Layer.Layer<R, E>
  /** A recorded conversation (JSONL) the command line replays when run with no command and no token. */
  readonly demo?: string
}

/** The team's services (`BotDefinition.services`) could not start. */
export class BotServicesFailed extends Schema.TaggedError<BotServicesFailed>()("BotServicesFailed", {
  message: Schema.String
}) {}

/** What building a bot may fail with. */
export type BotBuildError = ConfigError.ConfigError | ConfigurationError | StoreError | BotServicesFailed

/**
 * The parts of the bot a command picks — which Telegram, which model, which stores, which
 * queue; the rest (profile, tools, commands, services) come from the `BotDefinition`.
 */
export type PickedParts<E, RE = never> = Pick<
  BotParts<E, RE>,
  "telegram" | "model" | "stores" | "dispatcherConfig" | "streamConfig" | "queue"
>

export interface BotAssemblyService {
  /** The conversation the command line replays with no command and no token, if any. */
  readonly demo: string | undefined
  /** The whole bot on the given parts. */
  readonly assemble: <E, RE = never>(parts: PickedParts<E, RE>) => Layer.Layer<BotServices, E | BotBuildError, RE>
}


const describe = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string"
    ? error.message
    : String(error)

/** The assembly of a team's bot. */
export const assemblyOf = <R, E>(definition: BotDefinition<R, E>): BotAssemblyService => {
  const services: Layer.Layer<R, BotServicesFailed> = (definition.services ?? (Layer.empty as Layer.Layer<R>)).pipe(
    Layer.mapError((e) => new BotServicesFailed({ message: describe(e) }))
  )
  return {
    demo: definition.demo,
    assemble: <E2, RE>(parts: PickedParts<E2, RE>) =>
      lazyLayer(() =>
        Promise.all([import("./BotLayer.ts"), import("./Environment.ts"), import("../profile/BotProfile.ts")]).then(
          ([{ botLayer }, { selectedProfile }, { BotProfileFile }]) =>
            botLayer<E2 | ConfigError.ConfigError | ConfigurationError, R | RE>({
              ...parts,
              profile: definition.profile === undefined
                ? selectedProfile
                : BotProfileFile(definition.profile).pipe(Layer.provide(NodeContext.layer)),
              ...(definition.tools === undefined ? {} : { tools: definition.tools }),
              ...(definition.commands === undefined ? {} : { commands: definition.commands })
            })
        )
      ).pipe(Layer.provide(services))
  }
}

/** The command line's bot: the built-in one (`BOT_PROFILE`, the built-in tools and commands) unless a team's is provided. */
export class BotAssembly extends Context.Reference<BotAssembly>()("dialog-bot/BotAssembly", {
  defaultValue: (): BotAssemblyService => assemblyOf({})
}) {}

/** The bot a team defines, for the command line. */
export const BotAssemblyOf = <R, E>(definition: BotDefinition<R, E>) => Layer.succeed(BotAssembly, assemblyOf(definition))

/** The whole bot on `parts`, as the command line's `BotAssembly` defines it. */
export const assembledBot = <E, RE = never>(parts: PickedParts<E, RE>): Layer.Layer<BotServices, E | BotBuildError, RE> =>
  Layer.unwrapEffect(Effect.map(BotAssembly, (assembly) => assembly.assemble(parts)))
