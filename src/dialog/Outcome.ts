/**
 * What handling an update comes to, shared by the pipeline (`DialogPipeline.ts`) and the routes
 * beside it (`MessageRouting.ts`, `CalledUpdates.ts`, `NonDialogUpdates.ts`, `StopRace.ts`): the
 * outcome, the errors, and the turn the routes start. Kept apart so that the routes, which the
 * pipeline imports, need nothing of it.
 */
import { Effect, Option } from "effect"
import type { StoreError } from "../domain/errors.ts"
import type { DependencyDown } from "../effect/Breaker.ts"
import type { Message, TelegramId, Update } from "../domain/Update.ts"
import type { UserMedia } from "../llm/LanguageModel.ts"
import type { SendError } from "../telegram/Messenger.ts"
import type { Standing } from "../usage/Budget.ts"
import type { CalledSite } from "./CalledTurn.ts"

/** What happened to an update. */
export type Outcome =
  | { readonly _tag: "Answered"; readonly stage: string; readonly fallback: boolean }
  | { readonly _tag: "Command"; readonly command: string }
  | { readonly _tag: "Replied"; readonly reason: "text-only" | "empty" | "resent" | "media" | "over-budget" | "banned" | "not-allowed" }
  | { readonly _tag: "Skipped"; readonly reason: string }
  | { readonly _tag: "Membership"; readonly blocked: boolean }
  /** The user pressed the Stop button of the answer's draft; `kept`: the part shown was sent. */
  | { readonly _tag: "Stopped"; readonly kept: boolean }

/** `DependencyDown`: a dependency stayed down past the turn's patience (`effect/Breaker.ts`). */
export type PipelineError = StoreError | SendError | DependencyDown

/** The message of an update that may start a dialog. */
export const dialogMessage = (update: Update): Option.Option<Message> =>
  Option.fromNullable(update.message ?? update.edited_message ?? update.business_message ?? update.edited_business_message)

export const skipped = (reason: string): Outcome => ({ _tag: "Skipped", reason })

/**
 * One turn of the dialog (`DialogPipeline.ts`): the user's `text` of `message`, admitted with
 * `standing`. A turn started from another chat (guest, inline) has `called`: its conversation and
 * where its answer goes.
 */
export type DialogTurn = (
  updateId: TelegramId,
  message: Message,
  from: NonNullable<Message["from"]>,
  text: string,
  standing: Option.Option<Standing>,
  userMedia?: UserMedia,
  called?: CalledSite
) => Effect.Effect<Outcome, PipelineError>
