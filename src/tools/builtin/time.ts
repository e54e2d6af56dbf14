/** The current date and time in an IANA time zone. */
import { Clock, Effect, Schema } from "effect"
import { BotProfile } from "../../profile/BotProfile.ts"
import { defineTool, ToolFailure } from "../Tool.ts"

const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone })
    return true
  } catch {
    return false
  }
}

export const getCurrentTime = defineTool({
  name: "get_current_time",
  description: "Returns the current date and time. Without a zone, the shop's own time zone.",
  parameters: Schema.Struct({
    time_zone: Schema.optional(Schema.String.pipe(Schema.maxLength(64))).annotations({
      description: "IANA time zone such as Europe/Berlin or Asia/Tokyo"
    })
  }),
  handler: (args) =>
    Effect.gen(function*() {
      const profile = yield* BotProfile
      const zone = args.time_zone ?? profile.timeZone
      if (!isTimeZone(zone)) return yield* Effect.fail(new ToolFailure({ message: `unknown time zone "${zone}"` }))
      const now = new Date(yield* Clock.currentTimeMillis)
      const local = new Intl.DateTimeFormat("en-GB", {
        timeZone: zone,
        weekday: "long",
        year: "numeric",
        month: "long",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
        hour12: false
      }).format(now)
      return { timeZone: zone, local, iso: now.toISOString() }
    })
})
