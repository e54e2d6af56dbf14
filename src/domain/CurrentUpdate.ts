/** The update a fiber is working on: set by the dispatcher, read by whoever records what the bot sent. */
import { FiberRef, Option } from "effect"
import type { TelegramId } from "./Update.ts"

export const CurrentUpdateId: FiberRef.FiberRef<Option.Option<TelegramId>> = FiberRef.unsafeMake(
  Option.none<TelegramId>()
)
