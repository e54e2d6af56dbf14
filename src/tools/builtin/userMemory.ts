/**
 * The user's memory: short facts the model keeps about one user with `remember` and drops with
 * `forget`, in `ConversationState` under `memory:<user id>` (a JSON list). Never shared: the
 * key is the user's, whatever chat they write in. At most 20 facts of at most 200 characters,
 * so the prompt they go into stays small (about 1 000 tokens at most).
 */
import { Effect, Option, Schema } from "effect"
import type { StoreError } from "../../domain/errors.ts"
import type { TelegramId } from "../../domain/Update.ts"
import { ConversationState } from "../../store/ConversationState.ts"
import { defineTool, ToolFailure } from "../Tool.ts"

export const maxFacts = 20
export const maxFactChars = 200

const Facts = Schema.parseJson(Schema.Array(Schema.String))
const decodeFacts = Schema.decodeUnknownOption(Facts)
const encodeFacts = Schema.encodeSync(Facts)
const keyOf = (userId: TelegramId) => `memory:${userId}`

/** The facts kept about a user, oldest first. */
export const memoryOf = (userId: TelegramId): Effect.Effect<ReadonlyArray<string>, StoreError, ConversationState> =>
  Effect.flatMap(ConversationState, (state) => state.get(keyOf(userId))).pipe(
    Effect.map((value) => Option.getOrElse(Option.flatMap(value, decodeFacts), () => []))
  )

/** Forgets everything about a user; how many facts there were. */
export const clearMemory = (userId: TelegramId): Effect.Effect<number, StoreError, ConversationState> =>
  Effect.gen(function*() {
    const facts = yield* memoryOf(userId)
    yield* Effect.flatMap(ConversationState, (state) => state.remove(keyOf(userId)))
    return facts.length
  })

const write = (userId: TelegramId, facts: ReadonlyArray<string>) =>
  Effect.flatMap(ConversationState, (state) => state.put(keyOf(userId), encodeFacts(facts)))

/**
 * The calls of one think step run concurrently: a read, change and write of the list is one at
 * a time in the process, so that two `remember`s of one step both stay.
 */
const oneAtATime = Effect.unsafeMakeSemaphore(1).withPermits(1)

const storeFailure = (e: { readonly message: string }) => new ToolFailure({ message: `store unavailable: ${e.message}` })

const Fact = Schema.Trim.pipe(Schema.minLength(1), Schema.maxLength(maxFactChars))

export const remember = defineTool({
  name: "remember",
  description:
    `Keeps a short fact about the current customer for later conversations (a preference, a detail they asked you to remember). At most ${maxFacts} facts.`,
  parameters: Schema.Struct({ fact: Fact.annotations({ description: "The fact, in one short sentence" }) }),
  handler: ({ fact }, context) =>
    Effect.gen(function*() {
      const facts = yield* memoryOf(context.userId)
      if (facts.includes(fact)) return { remembered: fact, facts: facts.length }
      if (facts.length >= maxFacts) {
        return yield* Effect.fail(new ToolFailure({ message: `memory is full (${maxFacts} facts): forget one first` }))
      }
      yield* write(context.userId, [...facts, fact])
      return { remembered: fact, facts: facts.length + 1 }
    }).pipe(oneAtATime, Effect.catchTag("StoreError", (e) => Effect.fail(storeFailure(e))))
})

export const forget = defineTool({
  name: "forget",
  description: "Forgets the kept facts about the current customer that contain the given words.",
  parameters: Schema.Struct({ about: Fact.annotations({ description: "Words of the fact to forget" }) }),
  handler: ({ about }, context) =>
    Effect.gen(function*() {
      const facts = yield* memoryOf(context.userId)
      const kept = facts.filter((fact) => !fact.toLowerCase().includes(about.toLowerCase()))
      if (kept.length < facts.length) yield* write(context.userId, kept)
      return { forgotten: facts.length - kept.length, facts: kept.length }
    }).pipe(oneAtATime, Effect.catchTag("StoreError", (e) => Effect.fail(storeFailure(e))))
})
