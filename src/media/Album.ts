/**
 * Albums: the photos (or documents) of one `media_group_id` arrive as separate updates, one
 * message each, and are answered as one turn, by the album's last part.
 *
 * A chat's updates run one after another, so when a part's turn comes the parts after it are
 * waiting in the inbox (they were recorded when they arrived). A part that finds a later part
 * of its album there (looking at most `lookahead` update ids ahead) is collected: it is
 * settled without an answer. The last part waits `MEDIA_ALBUM_WINDOW` for stragglers, then
 * gathers the parts before it from the inbox (whose entries keep their payloads) back to a
 * part that was answered on its own, and answers them all.
 *
 * Nothing here lives only in memory: after a crash the pending parts run again and decide the
 * same way from the inbox and the history, so the album is answered once. A part that arrives
 * after its album was answered is answered on its own.
 */
import { Effect, Option } from "effect"
import type { StoreError } from "../domain/errors.ts"
import { decodeUpdateJson, type Message, type TelegramId } from "../domain/Update.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import { Inbox } from "../store/Inbox.ts"
import { MediaConfig } from "./MediaConfig.ts"
import { mediaGroupOf } from "./MediaContent.ts"

/** How many update ids after (and before) a part are looked at for the other parts of its album. */
export const lookahead = 20

/** An album is at most 10 messages (Telegram's limit). */
export const maxAlbumParts = 10

export type AlbumParts =
  /** A later part answers the album: this one is settled without an answer. */
  | { readonly _tag: "Collected"; readonly by: TelegramId }
  /** This part answers: the album's messages in order, this one last. */
  | { readonly _tag: "Last"; readonly messages: ReadonlyArray<Message> }

export const makeAlbums = Effect.gen(function*() {
  const inbox = yield* Inbox
  const history = yield* HistoryStore
  const config = yield* MediaConfig

  /** The message of an update of this chat and album, if the entry is one (and still pending, when asked). */
  const partAt = (updateId: TelegramId, chatId: TelegramId, group: string, pendingOnly: boolean) =>
    Effect.flatMap(inbox.entry(updateId), (entry) =>
      Option.match(Option.filter(entry, (e) => !pendingOnly || e.status === "pending"), {
        onNone: () => Effect.succeedNone,
        onSome: (found) =>
          decodeUpdateJson(found.payload).pipe(
            Effect.map((update) =>
              Option.filter(
                Option.fromNullable(update.message ?? update.business_message),
                (message) =>
                  message.chat.id === chatId && Option.getOrUndefined(mediaGroupOf(message)) === group
              )
            ),
            Effect.orElseSucceed(() => Option.none<Message>())
          )
      }))

  const ids = (from: TelegramId, step: 1 | -1) =>
    Array.from({ length: lookahead }, (_, i) => (from + step * (i + 1)) as TelegramId).filter((id) => id > 0)

  /**
   * A later part that will run after this one. One already settled without running (dropped by
   * flood protection) will not answer, so it does not count.
   */
  const laterPart = (updateId: TelegramId, chatId: TelegramId, group: string) =>
    Effect.forEach(ids(updateId, 1), (id) => Effect.map(partAt(id, chatId, group, true), Option.map(() => id)), {
      concurrency: 5
    }).pipe(Effect.map((found) => Option.firstSomeOf(found)))

  /** The parts before this one, oldest first, back to one that was answered on its own. */
  const earlierParts = (updateId: TelegramId, chatId: TelegramId, group: string) =>
    Effect.gen(function*() {
      const found = yield* Effect.forEach(
        ids(updateId, -1),
        (id) => Effect.map(partAt(id, chatId, group, false), Option.map((message) => ({ id, message }))),
        { concurrency: 5 }
      )
      const parts: Array<Message> = []
      for (const part of found) {
        if (Option.isNone(part) || parts.length >= maxAlbumParts - 1) continue
        if (Option.isSome(yield* history.replyFor(chatId, part.value.id))) break
        parts.unshift(part.value.message)
      }
      return parts
    })

  /** The parts of the album of `message` this update answers, or the later part that will. */
  const collect = (updateId: TelegramId, message: Message, group: string): Effect.Effect<AlbumParts, StoreError> =>
    Effect.gen(function*() {
      const chatId = message.chat.id
      const later = yield* laterPart(updateId, chatId, group)
      if (Option.isSome(later)) return { _tag: "Collected", by: later.value } as const
      yield* Effect.sleep(config.albumWindow)
      const straggler = yield* laterPart(updateId, chatId, group)
      if (Option.isSome(straggler)) return { _tag: "Collected", by: straggler.value } as const
      const earlier = yield* earlierParts(updateId, chatId, group)
      return { _tag: "Last", messages: [...earlier, message] } as const
    })

  return { collect }
})
