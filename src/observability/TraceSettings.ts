/**
 * What spans may carry. By default no message text reaches a span (only ids, stages, tools,
 * token counts); `TRACE_MESSAGE_TEXT=true` adds the user's text and the bot's reply, for
 * debugging on a machine whose trace backend may see them.
 */
import { Config, Context, Effect, Layer } from "effect"
import { tracing } from "./span.ts"

export interface TraceSettingsShape {
  /** Put message texts on spans (`message.text`, `reply.text`). */
  readonly messageText: boolean
}

const TraceSettingsSchema: Config.Config<TraceSettingsShape> = Config.all({
  messageText: Config.boolean("TRACE_MESSAGE_TEXT").pipe(Config.withDefault(false))
})

/** Off unless set: a reference, so that code run without the entry point's layers traces no text. */
export class TraceSettings extends Context.Reference<TraceSettings>()("TraceSettings", {
  defaultValue: (): TraceSettingsShape => ({ messageText: false })
}) {
  /** The variable, as a `Settings` owner has it (src/config.ts). */
  static readonly config = TraceSettingsSchema
  static readonly placeholders: Readonly<Record<string, string>> = {}
  static readonly fromEnv = Layer.effect(TraceSettings, TraceSettingsSchema)
  static readonly make = (settings: TraceSettingsShape) => Layer.succeed(TraceSettings, settings)
}

/** Longest text put on a span when message texts are traced. */
export const maxTracedText = 1000

/**
 * `effect` with `text` put on the current span as `key` first, when the fiber traces and message
 * texts are traced; `effect` itself otherwise (one runtime step with tracing off).
 */
export const annotatedText = <A, E, R>(key: string, text: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  tracing((enabled) =>
    enabled
      ? Effect.flatMap(TraceSettings, (settings) =>
        settings.messageText ? Effect.zipRight(Effect.annotateCurrentSpan(key, text.slice(0, maxTracedText)), effect) : effect)
      : effect
  )
