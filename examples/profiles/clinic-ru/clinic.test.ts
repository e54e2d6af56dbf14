/**
 * The dental clinic profile, in Russian, through the whole bot on the offline model: it loads,
 * its stages pick the right tools for Russian messages, and its recorded conversation replays
 * to the stored transcript (the regression check a team runs after changing the profile).
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import type { TelegramId } from "../../../src/domain/Update.ts"
import { classifyByKeywords } from "../../../src/llm/OfflineModel.ts"
import { BotProfile, loadProfile } from "../../../src/profile/BotProfile.ts"
import { ClientStore, conversation, replay, runUpdates, testBot, textsTo, withFixedClock } from "../../../src/testing/index.ts"

const profile = new URL("./profile.json", import.meta.url).pathname
const recorded = new URL("./conversation.jsonl", import.meta.url).pathname
const stored = new URL("./transcript.jsonl", import.meta.url).pathname

const clinicBot = testBot({ model: "offline", profile })

describe("clinic-ru profile", () => {
  it.effect("loads: five stages, the knowledge base sections, Russian texts", () =>
    Effect.gen(function*() {
      const clinic = yield* loadProfile(profile)
      expect(clinic.language).toBe("ru")
      expect(clinic.stages.map((s) => s.id)).toEqual(["general", "appointment", "prices", "urgent", "account"])
      expect(clinic.knowledge.map((s) => s.title)).toContain("Острая боль и неотложная помощь")
      expect(clinic.texts.greeting).toMatch(/^Здравствуйте!/)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("the offline model classifies Russian messages by the stage keywords", () =>
    Effect.gen(function*() {
      const clinic = yield* BotProfile
      expect(classifyByKeywords(clinic, "Хочу записаться к врачу")).toBe("appointment")
      expect(classifyByKeywords(clinic, "Сколько стоит удаление зуба?")).toBe("prices")
      expect(classifyByKeywords(clinic, "Очень болит зуб, срочно!")).toBe("urgent")
      expect(classifyByKeywords(clinic, "Меня зовут Ольга")).toBe("account")
      expect(classifyByKeywords(clinic, "Спасибо")).toBe("general")
    }).pipe(Effect.provide(clinicBot)))

  it.effect("answers Russian questions from its knowledge base, saves details and calls a human", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([
        ...conversation(620001, ["/start", "Во сколько вы работаете в субботу?", "Меня зовут Ольга, мой телефон +7 916 555-12-34"]),
        ...conversation(620002, ["Сколько стоит чистка зубов?", "У меня сильно болит зуб, позовите человека"])
      ])
      const olga = textsTo(sent, 620001)
      expect(olga).toHaveLength(3)
      expect(olga[0]).toBe(
        "Здравствуйте! Я помощник стоматологии «Улыбка». Подскажу часы работы, адрес и цены, запишу на приём или позову администратора."
      )
      expect(olga[1]).toContain("в субботу с 10:00 до 18:00")
      expect(olga[2]).toBe("Thank you, Ольга! I've saved your name and phone.")
      const pavel = textsTo(sent, 620002)
      expect(pavel[0]).toContain("Профессиональная чистка зубов — 4 500 ₽")
      expect(pavel[1]).toContain("I've asked a human colleague")

      const clients = yield* ClientStore
      const saved = Option.getOrThrow(yield* clients.get(620001 as TelegramId))
      expect(saved.profile).toMatchObject({ name: "Ольга", phone: "+7 916 555-12-34" })
      const handedOff = Option.getOrThrow(yield* clients.get(620002 as TelegramId))
      expect(handedOff.handoffReason).toBe("У меня сильно болит зуб, позовите человека")
    }).pipe(Effect.provide(clinicBot)))

  it.effect("its recorded conversation replays to the stored transcript", () =>
    Effect.gen(function*() {
      const result = yield* replay({ file: recorded, out: Option.none(), print: false, expect: Option.some(stored) }).pipe(
        withFixedClock(Date.parse("2026-01-15T07:00:00Z"))
      )
      expect(result.updates).toBe(8)
      expect(result.sent).toHaveLength(8)
    }).pipe(Effect.provide(Layer.merge(clinicBot, NodeContext.layer))))
})
