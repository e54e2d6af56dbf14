/** Settings of answers as they go out: drafts in private chats, edits in groups, rich messages. */
import { Config } from "effect"
import { duration, Settings } from "../config.ts"

export const StreamConfigSchema = Config.all({
  /** Whether answers in private chats are streamed as drafts (`sendMessageDraft`) before the final message. */
  replies: Config.boolean("STREAM_REPLIES").pipe(Config.withDefault(true)),
  /** At most one draft per this interval. */
  draftInterval: duration("STREAM_DRAFT_INTERVAL", "400 millis"),
  /**
   * Whether answers in groups are streamed too: a first message, edited at most once a second
   * until it holds the answer. Off: groups get final messages only.
   */
  inGroups: Config.boolean("STREAM_IN_GROUPS").pipe(Config.withDefault(false)),
  /**
   * Drafts carry a Stop button (Bot API 10.3). Pressed, the turn stops; with this the text shown
   * so far stays on screen (`keep_on_stop`) and is sent as the final message, marked as stopped.
   */
  stopKeepsPartial: Config.boolean("STOP_KEEPS_PARTIAL").pipe(Config.withDefault(true)),
  /**
   * Answers as rich messages (Bot API 10.1: `sendRichMessage`, rich drafts, rich edits). `auto`:
   * rich until the Bot API server says it has no such method, then text with entities for the
   * rest of the process (one log line); `on`: rich, a refusal falls back for that message only;
   * `off`: text with entities. A refusal of one message's content sends that message as text.
   */
  richMessages: Config.literal("auto", "on", "off")("RICH_MESSAGES").pipe(Config.withDefault("auto" as const))
})
export type StreamConfigShape = Config.Config.Success<typeof StreamConfigSchema>

export class StreamConfig extends Settings<StreamConfig>()("dialog-bot/StreamConfig", StreamConfigSchema) {}
