/**
 * The dialog pipeline: what the bot does with one update.
 *
 * For a user's text: get or create the client, load the last messages, append the user's,
 * then 1 classify (→ a stage), 2 think (the model with the stage's tools, a bounded tool loop),
 * 3 synthesize (the reply), append the reply and send it. Each stage has a fallback: a failed
 * classification uses the default stage, a failed think step goes on with the tool results
 * gathered so far, a failed synthesis tries one plain generation, and only then the apology.
 *
 * Commands (/start, /help, /clear), media without text, empty texts and the non-dialog update
 * kinds (callback queries, membership changes) are answered without the model.
 */
import { Clock, Context, Effect, Layer, Metric, Option } from "effect"
import { DialogConfig } from "./DialogConfig.ts"
import { commitAnswer } from "../domain/CurrentUpdate.ts"
import type { Client, HistoryMessage } from "../domain/Dialog.ts"
import type { StoreError } from "../domain/errors.ts"
import {
  type ChatMemberUpdated,
  hasMedia,
  type Message,
  messageText,
  type TelegramId,
  type Update,
  updateKind
} from "../domain/Update.ts"
import { type ChatMessage, LanguageModel, type Usage } from "../llm/LanguageModel.ts"
import { dialogsAnswered, timeStage, withTags } from "../observability/Metrics.ts"
import { annotateText } from "../observability/TraceSettings.ts"
import { BotProfile, stageOrDefault, type Stage } from "../profile/BotProfile.ts"
import { ClientStore } from "../store/ClientStore.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import { Messenger, type SendError } from "../telegram/Messenger.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import type { ToolContext } from "../tools/Tool.ts"
import { type ToolResult, Tools } from "../tools/Tools.ts"
import { parseStage } from "./classification.ts"
import {
  classifyMessages,
  historyMessages,
  plainMessages,
  renderFindings,
  synthesizeMessages,
  thinkMessages,
  trimHistory
} from "./prompts.ts"
import { withSpan } from "../observability/span.ts"

/** What happened to an update. */
export type Outcome =
  | { readonly _tag: "Answered"; readonly stage: string; readonly fallback: boolean }
  | { readonly _tag: "Command"; readonly command: string }
  | { readonly _tag: "Replied"; readonly reason: "text-only" | "empty" | "resent" }
  | { readonly _tag: "Skipped"; readonly reason: string }
  | { readonly _tag: "Membership"; readonly blocked: boolean }

export type PipelineError = StoreError | SendError

export interface DialogPipelineService {
  readonly handle: (update: Update) => Effect.Effect<Outcome, PipelineError>
  /** Sends the apology to the chat of an update that has one (deadline passed, dialog failed). */
  readonly apologize: (update: Update) => Effect.Effect<void>
}

export class DialogPipeline extends Context.Tag("dialog-bot/DialogPipeline")<DialogPipeline, DialogPipelineService>() {}

/** The message of an update that may start a dialog. */
export const dialogMessage = (update: Update): Option.Option<Message> =>
  Option.fromNullable(update.message ?? update.edited_message ?? update.business_message)

const commandOf = (text: string): Option.Option<string> => {
  const match = /^\/([a-zA-Z0-9_]{1,32})(?:@[a-zA-Z0-9_]+)?(?:\s|$)/.exec(text)
  return Option.fromNullable(match?.[1]?.toLowerCase())
}

const addUsage = (a: Usage, b: Usage): Usage => ({
  promptTokens: a.promptTokens + b.promptTokens,
  completionTokens: a.completionTokens + b.completionTokens
})

export const makeDialogPipeline = Effect.gen(function*() {
  const config = yield* DialogConfig
  const profile = yield* BotProfile
  const model = yield* LanguageModel
  const tools = yield* Tools
  const clients = yield* ClientStore
  const history = yield* HistoryStore
  const messenger = yield* Messenger
  const api = yield* TelegramApi
  const stageIds = profile.stages.map((s) => s.id)
  /** Sends the update's answer; once it starts, the update's deadline lets it finish. */
  const answer = (chatId: TelegramId, text: string) => Effect.zipRight(commitAnswer, messenger.reply(chatId, text))

  const classify = (context: ReadonlyArray<ChatMessage>, text: string) =>
    model.complete({ purpose: "classify", messages: classifyMessages(profile, context, text) }).pipe(
      Effect.map((r) => ({ stage: parseStage(r.text, stageIds, profile.defaultStage), usage: r.usage, fallback: false })),
      Effect.catchAll((e) =>
        Effect.as(Effect.logWarning(`classification failed, using the default stage: ${e.message}`), {
          stage: profile.defaultStage,
          usage: { promptTokens: 0, completionTokens: 0 },
          fallback: true
        })
      ),
      Effect.tap((r) => Effect.annotateCurrentSpan({ stage: r.stage, fallback: r.fallback })),
      timeStage("classify"),
      withSpan("dialog.classify")
    )

  /** The tool loop: at most `toolMaxSteps` model calls; the calls of one step run concurrently. */
  const think = (stage: Stage, client: Client, context: ReadonlyArray<ChatMessage>, text: string, toolContext: ToolContext) =>
    Effect.gen(function*() {
      let messages = thinkMessages(profile, stage, client, context, text)
      const specs = tools.specs(stage.tools)
      const results: Array<ToolResult> = []
      let usage: Usage = { promptTokens: 0, completionTokens: 0 }
      for (let step = 0; step < config.toolMaxSteps; step++) {
        const response = yield* model.complete({
          purpose: "think",
          messages,
          ...(specs.length > 0 ? { tools: specs } : {})
        }).pipe(Effect.either)
        if (response._tag === "Left") {
          yield* Effect.logWarning(`think step failed, going on with ${results.length} tool results: ${response.left.message}`)
          return { notes: "", results, usage, fallback: true }
        }
        usage = addUsage(usage, response.right.usage)
        const calls = response.right.toolCalls
        if (calls.length === 0) return { notes: response.right.text ?? "", results, usage, fallback: false }
        const stepResults = yield* Effect.forEach(calls, (call) => tools.execute(call, stage.tools, toolContext), {
          concurrency: config.toolConcurrency
        })
        results.push(...stepResults)
        messages = [
          ...messages,
          { role: "assistant", content: response.right.text, toolCalls: calls },
          ...stepResults.map((r): ChatMessage => ({ role: "tool", toolCallId: r.callId, content: r.content }))
        ]
      }
      yield* Effect.logWarning(`tool loop stopped after ${config.toolMaxSteps} steps`)
      return { notes: "", results, usage, fallback: true }
    }).pipe(
      timeStage("think"),
      Effect.annotateLogs("stage", stage.id),
      withSpan("dialog.think", { attributes: { stage: stage.id } })
    )

  const nonEmpty = (text: string | null) => Option.filter(Option.fromNullable(text?.trim()), (t) => t.length > 0)

  const synthesize = (
    stage: Stage,
    client: Client,
    context: ReadonlyArray<ChatMessage>,
    text: string,
    findings: string
  ) =>
    model.complete({ purpose: "synthesize", messages: synthesizeMessages(profile, stage, client, context, text, findings) })
      .pipe(
        Effect.flatMap((r) =>
          Option.match(nonEmpty(r.text), {
            onNone: () => Effect.fail("the model returned an empty answer"),
            onSome: (answer) => Effect.succeed({ answer, usage: r.usage, fallback: false })
          })
        ),
        Effect.catchAll((e) =>
          Effect.zipRight(
            Effect.logWarning(`synthesis failed, trying a plain generation: ${typeof e === "string" ? e : e.message}`),
            model.complete({ purpose: "synthesize", messages: plainMessages(profile, client, context, text) }).pipe(
              Effect.map((r) => ({ answer: Option.getOrElse(nonEmpty(r.text), () => profile.texts.apology), usage: r.usage, fallback: true })),
              Effect.catchAll((e2) =>
                Effect.as(Effect.logError(`plain generation failed, sending the apology: ${e2.message}`), {
                  answer: profile.texts.apology,
                  usage: { promptTokens: 0, completionTokens: 0 },
                  fallback: true
                })
              )
            )
          )
        ),
        timeStage("synthesize"),
        Effect.annotateLogs("stage", stage.id),
        withSpan("dialog.synthesize", { attributes: { stage: stage.id } })
      )

  const dialog = (updateId: TelegramId, message: Message, from: NonNullable<Message["from"]>, text: string) =>
    Effect.gen(function*() {
      const chatId = message.chat.id
      const client = yield* clients.getOrCreate({
        id: from.id,
        firstName: from.first_name,
        lastName: from.last_name,
        username: from.username,
        languageCode: from.language_code
      })
      // A user who writes to the bot can receive its messages again.
      if (client.blocked) yield* clients.setBlocked(client.id, false)

      // Re-run after a crash: the reply was composed already, send it again instead of asking anew.
      const stored = yield* history.replyFor(chatId, updateId)
      if (Option.isSome(stored)) {
        yield* answer(chatId, stored.value)
        return { _tag: "Replied", reason: "resent" } satisfies Outcome
      }

      const past = (yield* history.lastN(chatId, config.historyLimit + 1)).filter((m) => m.updateId !== updateId)
      const context = historyMessages(trimHistory(past.slice(-config.historyLimit), config.historyCharBudget))
      const userMessage: HistoryMessage = { chatId, updateId, role: "user", text, at: yield* Clock.currentTimeMillis }
      yield* history.append(userMessage)

      const classified = yield* classify(context, text)
      const stage = stageOrDefault(profile, classified.stage)
      const toolContext: ToolContext = { chatId, userId: from.id, updateId }
      const thought = yield* think(stage, client, context, text, toolContext)
      const findings = renderFindings(thought.notes, thought.results)
      const synthesized = yield* synthesize(stage, client, context, text, findings)

      yield* history.append({ chatId, updateId, role: "assistant", text: synthesized.answer, at: yield* Clock.currentTimeMillis })
      yield* answer(chatId, synthesized.answer)
      const usage = addUsage(addUsage(classified.usage, thought.usage), synthesized.usage)
      const fallback = classified.fallback || thought.fallback || synthesized.fallback
      const stageUsage = {
        classify_prompt_tokens: classified.usage.promptTokens,
        classify_completion_tokens: classified.usage.completionTokens,
        think_prompt_tokens: thought.usage.promptTokens,
        think_completion_tokens: thought.usage.completionTokens,
        synthesize_prompt_tokens: synthesized.usage.promptTokens,
        synthesize_completion_tokens: synthesized.usage.completionTokens
      }
      yield* Metric.increment(withTags(dialogsAnswered, { dialog_stage: stage.id, fallback: String(fallback) }))
      yield* Effect.logInfo("dialog answered").pipe(
        Effect.annotateLogs({
          stage: stage.id,
          tools: thought.results.map((r) => `${r.name}:${r.ok ? "ok" : "error"}`).join(",") || "none",
          prompt_tokens: usage.promptTokens,
          completion_tokens: usage.completionTokens,
          ...stageUsage,
          fallback
        })
      )
      yield* Effect.annotateCurrentSpan({
        stage: stage.id,
        prompt_tokens: usage.promptTokens,
        completion_tokens: usage.completionTokens,
        ...stageUsage
      })
      return { _tag: "Answered", stage: stage.id, fallback } satisfies Outcome
    }).pipe(
      Effect.tap(() => annotateText("message.text", text)),
      withSpan("dialog.run", { attributes: { update_id: updateId, chat_id: message.chat.id } })
    )

  const command = (name: string, chatId: TelegramId): Effect.Effect<Option.Option<Outcome>, PipelineError> => {
    switch (name) {
      case "start":
        return Effect.as(answer(chatId, profile.texts.greeting), Option.some({ _tag: "Command", command: name }))
      case "help":
        return Effect.as(answer(chatId, profile.texts.help), Option.some({ _tag: "Command", command: name }))
      case "clear":
        return history.clear(chatId).pipe(
          Effect.flatMap((count) => answer(chatId, profile.texts.cleared.replaceAll("{count}", String(count)))),
          Effect.as(Option.some({ _tag: "Command", command: name }))
        )
      default:
        return Effect.succeed(Option.none())
    }
  }

  const onMessage = (updateId: TelegramId, message: Message): Effect.Effect<Outcome, PipelineError> =>
    Effect.gen(function*() {
      const from = message.from
      if (from === undefined || from.is_bot) return { _tag: "Skipped", reason: "not from a user" } as const
      const chatId = message.chat.id
      const text = messageText(message)
      if (Option.isNone(text)) {
        if (!hasMedia(message)) return { _tag: "Skipped", reason: "service message" } as const
        yield* answer(chatId, profile.texts.textOnly)
        return { _tag: "Replied", reason: "text-only" } as const
      }
      if (text.value.trim() === "") {
        yield* answer(chatId, profile.texts.emptyMessage)
        return { _tag: "Replied", reason: "empty" } as const
      }
      const handled = yield* Option.match(commandOf(text.value), {
        onNone: () => Effect.succeed(Option.none<Outcome>()),
        onSome: (name) => command(name, chatId)
      })
      if (Option.isSome(handled)) return handled.value
      return yield* messenger.whileTyping(chatId, dialog(updateId, message, from, text.value))
    })

  const onMembership = (change: ChatMemberUpdated): Effect.Effect<Outcome, PipelineError> => {
    const status = change.new_chat_member.status
    const blocked = status === "kicked" || status === "left"
    // Only a private chat's membership says whether the user blocked the bot.
    if (change.chat.type !== "private") return Effect.succeed({ _tag: "Skipped", reason: `membership in ${change.chat.type}` })
    return Effect.as(clients.setBlocked(change.from.id, blocked), { _tag: "Membership", blocked })
  }

  const handle = (update: Update): Effect.Effect<Outcome, PipelineError> => {
    const kind = updateKind(update)
    const result: Effect.Effect<Outcome, PipelineError> = Option.match(dialogMessage(update), {
      onSome: (message) => onMessage(update.update_id, message),
      onNone: () => {
        if (update.callback_query) {
          // Buttons are not part of the dialog yet: stop the client's spinner and move on.
          return api.answerCallbackQuery(update.callback_query.id).pipe(
            Effect.catchAll((e) => Effect.logWarning(`answerCallbackQuery failed: ${e.message}`)),
            Effect.as({ _tag: "Skipped", reason: "callback_query answered" } as const)
          )
        }
        if (update.my_chat_member) return onMembership(update.my_chat_member)
        return Effect.as(Effect.logDebug(`skipped update of kind ${kind}`), { _tag: "Skipped", reason: kind } as const)
      }
    })
    return result.pipe(withSpan("dialog.handle", { attributes: { kind } }))
  }

  const apologize = (update: Update) =>
    Option.match(dialogMessage(update), {
      onNone: () => Effect.void,
      onSome: (message) =>
        messenger.reply(message.chat.id, profile.texts.apology).pipe(
          Effect.timeout("10 seconds"),
          Effect.catchAll((e) => Effect.logWarning(`apology not sent: ${e._tag}`))
        )
    })

  return DialogPipeline.of({ handle, apologize })
})

export const DialogPipelineLive = Layer.effect(DialogPipeline, makeDialogPipeline)
