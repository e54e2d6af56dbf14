import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { readFileSync } from "node:fs"
import { runUpdates, TelegramRecorder, testBot } from "../../src/testing/index.ts"

const lines = (name: string) =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8").split("\n").filter((l) => l.trim() !== "")

interface RawUpdate {
  readonly update_id: number
  readonly message?: { readonly text?: string; readonly caption?: string; readonly chat: { readonly id: number } }
  readonly edited_message?: { readonly text?: string; readonly chat: { readonly id: number } }
}

/** A group message the recorded bot is not addressed by (a reply to another member): context, not answered. */
const notAddressed = 700000019

/** Updates carrying text a user wrote to the bot: a message or an edit with text or caption. */
const textUpdates = (raw: ReadonlyArray<RawUpdate>) =>
  raw.filter((u) => (u.message?.text ?? u.message?.caption ?? u.edited_message?.text) !== undefined && u.update_id !== notAddressed)

/** The bot the fixtures were recorded with (getMe). */
const recordedBot = { telegram: { results: { getMe: { id: 7000000001, is_bot: true, first_name: "ShopBot", username: "shop_demo_bot" } } } }

describe("replay of the recorded fixtures on the offline model", () => {
  for (const file of ["conversation.jsonl", "varied-updates.jsonl"]) {
    it.effect(`${file}: every text update is answered exactly once, each chat in order`, () =>
      Effect.gen(function*() {
        const input = lines(file)
        const raw = input.map((l) => JSON.parse(l) as RawUpdate)
        const sent = yield* runUpdates(input)
        const answered = new Map<number, number>()
        for (const m of sent) {
          const id = Option.getOrThrow(m.updateId)
          answered.set(id, (answered.get(id) ?? 0) + 1)
        }
        for (const update of textUpdates(raw)) expect(answered.get(update.update_id), `update ${update.update_id}`).toBe(1)
        // Each chat's replies follow the order of its updates.
        const byChat = new Map<number, Array<number>>()
        for (const m of sent) byChat.set(m.chatId, [...(byChat.get(m.chatId) ?? []), Option.getOrThrow(m.updateId)])
        for (const ids of byChat.values()) expect(ids).toEqual([...ids].sort((a, b) => a - b))
        expect(sent.every((m) => m.text.length > 0 && m.text.length <= 4096)).toBe(true)
      }).pipe(Effect.provide(testBot({ model: "offline", ...recordedBot }))))
  }

  it.effect("conversation.jsonl: the offline model uses its tools", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates(lines("conversation.jsonl"))
      const texts = sent.map((m) => m.text).join("\n")
      expect(texts).toContain("Opening hours")
      expect(texts).toContain("Tom Walker")
      expect(texts).toContain("+44 20 7946 0958")
      expect(texts).toContain("human colleague")
      expect(texts).toContain("International shipping")
      expect(texts).toContain("built-in offline demo model")
      // After /clear the name is still known: it lives in the client profile, not the history.
      const afterClear = sent.find((m) => Option.getOrNull(m.updateId) === 700000012)
      expect(afterClear?.text).toContain("name: Анна")
      // /clear is a command: answered in the Russian of the user's language_code, not by the model.
      const cleared = sent.filter((m) => Option.getOrNull(m.updateId) === 700000011).map((m) => m.text)
      expect(cleared).toEqual([expect.stringMatching(/^Готово: я забыл наш разговор \(удалено сообщений: 6\)/)])
    }).pipe(Effect.provide(testBot({ model: "offline" }))))

  it.effect("varied-updates.jsonl: non-text updates get the right treatment", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates(lines("varied-updates.jsonl"))
      const byUpdate = (id: number) => sent.filter((m) => Option.getOrNull(m.updateId) === id).map((m) => m.text)
      expect(byUpdate(700000016)).toEqual([expect.stringMatching(/can't read this kind of message/)])
      // A blank message from a Russian-speaking user: the notice in Russian.
      expect(byUpdate(700000022)).toEqual(["Похоже, сообщение пустое. Что бы вы хотели узнать?"])
      expect(byUpdate(700000020)).toEqual([])
      expect(byUpdate(700000021)).toEqual([])
      // /start in a group from the same user: the greeting in the language of the user who sent it.
      expect(byUpdate(700000018)).toEqual([expect.stringMatching(/^Здравствуйте!/)])
      expect(byUpdate(notAddressed)).toEqual([])
      const calls = yield* (yield* TelegramRecorder).calls
      expect(calls).toContainEqual({
        method: "answerCallbackQuery",
        params: { callback_query_id: "4382bfdwdsb323b2d9" },
        updateId: Option.some(700000017)
      })
    }).pipe(Effect.provide(testBot({ model: "offline", ...recordedBot }))))
})
