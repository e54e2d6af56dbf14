/**
 * Redaction of recorded updates: `redactUpdate` removes personal data from an update while
 * keeping its ids, its structure and the text of its messages, so that a recording can be
 * shared and still replays the same dialog.
 *
 * ## The redaction rule
 *
 * The update is walked as JSON. Every number, boolean and null is kept (ids, dates, offsets,
 * message ids stay exact), except the coordinates below. Every key is kept. A string is kept
 * unless its key is listed here; a replaced string becomes `[<key>]`, e.g. `"[first_name]"`:
 *
 * - names and handles anywhere: `first_name`, `last_name`, `username`, `usernames`, `name`,
 *   `sender_user_name` (a forward from a hidden user), `author_signature`;
 * - phone numbers and contact cards anywhere: `phone_number`, `vcard`, `email`;
 * - free text about a person or written outside a message: `bio`, `description`, `query`
 *   (inline queries), `address` and the shipping address lines (`street_line1`,
 *   `street_line2`, `city`, `state`, `post_code`), `file_name`;
 * - `title` of a private or basic-group chat (titles of supergroups and channels, which are
 *   public, are kept), and `title` of a venue;
 * - inside a `poll` object: `question`, `explanation` and the `text` of its options;
 * - coordinates: `latitude` and `longitude` become `0`.
 *
 * Kept on purpose: the `text` and `caption` of messages (quoted ones too) — the dialog is what
 * a recording is for, so whatever a user typed into a message stays as typed — callback
 * `data` (written by the bot, not the user), file ids, language codes, chat types.
 * A value under a listed key that is an object or an array is walked, not replaced, so the
 * structure stays whole; any other value under a listed key (a number given as a phone) is
 * replaced by the placeholder.
 */

const alwaysRedacted = new Set([
  "first_name",
  "last_name",
  "username",
  "usernames",
  "name",
  "sender_user_name",
  "author_signature",
  "phone_number",
  "vcard",
  "email",
  "bio",
  "description",
  "query",
  "address",
  "street_line1",
  "street_line2",
  "city",
  "state",
  "post_code",
  "file_name"
])
const pollRedacted = new Set(["question", "explanation", "text"])
const coordinates = new Set(["latitude", "longitude"])
const privateChatTypes = new Set(["private", "group"])

const placeholder = (key: string) => `[${key}]`

const isRecord = (value: unknown): value is { readonly [key: string]: unknown } =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const redactValue = (value: unknown, key: string | undefined, inPoll: boolean, redactTitle: boolean): unknown => {
  if (Array.isArray(value)) return value.map((item) => redactValue(item, key, inPoll, redactTitle))
  if (isRecord(value)) return redactObject(value, inPoll || key === "poll", key === "venue")
  if (key === undefined) return value
  if (coordinates.has(key) && typeof value === "number") return 0
  if (alwaysRedacted.has(key) || (inPoll && pollRedacted.has(key)) || (redactTitle && key === "title")) {
    return value === null ? null : placeholder(key)
  }
  return value
}

const redactObject = (value: { readonly [key: string]: unknown }, inPoll: boolean, isVenue: boolean) => {
  const isPersonalChat = typeof value.id === "number" && typeof value.type === "string" &&
    privateChatTypes.has(value.type)
  const redactTitle = isVenue || isPersonalChat
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    // Options of a poll are objects under `options`: their `text` is redacted by `inPoll`.
    out[key] = redactValue(field, key, inPoll, redactTitle)
  }
  return out
}

/**
 * The update with personal data replaced by placeholders (see the module comment for the
 * exact rule). Pure: the input is not changed. Works on any JSON value.
 */
export const redactUpdate = (update: unknown): unknown => redactValue(update, undefined, false, false)
