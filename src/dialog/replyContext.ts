/**
 * What a message answers, for the prompt: the text of the message it replies to (its text or
 * caption), the part of it the user quoted (`quote`), or a message of another chat it replies
 * to (`external_reply`, whose text only its quote carries). The text goes before the user's
 * own, marked as quoted, so the model reads it as context and not as the user's words.
 */
import { Option } from "effect"
import { type ExternalReplyInfo, hasMedia, type Message } from "../domain/Update.ts"

/** Characters of a quoted text given to the model at most. */
export const quotedCharCap = 1000

type Named = { readonly first_name?: string | undefined; readonly last_name?: string | undefined; readonly title?: string | undefined }

const nameOf = (who: Named | undefined): string | undefined => {
  if (who === undefined) return undefined
  const name = who.title ?? [who.first_name, who.last_name].filter((part) => part !== undefined && part !== "").join(" ")
  return name === "" ? undefined : name
}

const externalAuthor = (external: ExternalReplyInfo): string | undefined => {
  const origin = external.origin
  return nameOf(origin?.sender_user) ?? origin?.sender_user_name ?? nameOf(origin?.sender_chat) ?? nameOf(origin?.chat) ??
    nameOf(external.chat)
}

const capped = (text: string): string => (text.length > quotedCharCap ? `${text.slice(0, quotedCharCap)}…` : text)

const quoted = (heading: string, text: string): string =>
  [`[${heading}]`, ...capped(text.trim()).split("\n").map((line) => `> ${line}`), "[End of the quoted message]"].join("\n")

/** The quoted context of `message`, when it answers another message with text in it. */
export const replyContext = (message: Message): Option.Option<string> => {
  const partial = message.quote?.text
  const replied = message.reply_to_message
  if (replied !== undefined) {
    const author = nameOf(replied.from) ?? nameOf(replied.sender_chat)
    const from = author === undefined ? "" : ` from ${author}`
    const text = partial ?? replied.text ?? replied.caption
    if (text !== undefined && text.trim() !== "") {
      return Option.some(quoted(partial !== undefined ? `The user quotes this part of a message${from}:` : `The user replies to this message${from}:`, text))
    }
    if (hasMedia(replied)) return Option.some(`[The user replies to a message${from} with media the bot cannot see.]`)
    return Option.none()
  }
  const external = message.external_reply
  if (external !== undefined) {
    const author = externalAuthor(external)
    const from = author === undefined ? "" : ` from ${author}`
    if (partial !== undefined && partial.trim() !== "") return Option.some(quoted(`The user quotes a message${from} in another chat:`, partial))
    return Option.some(`[The user replies to a message${from} in another chat; its text is not available.]`)
  }
  return Option.none()
}

/** The user's text as the model reads it: the quoted context first, when there is one. */
export const withReplyContext = (message: Message, text: string): string =>
  Option.match(replyContext(message), { onNone: () => text, onSome: (context) => `${context}\n\n${text}` })
