/**
 * The user's language: fixed texts in the language of the user's Telegram app when the profile
 * has them ("ru-RU" is "ru"), in the profile's default language otherwise; the model is told to
 * answer in the user's language. Profiles with plain strings load as before.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import { loadProfile } from "../../src/profile/BotProfile.ts"
import { languageOf, profileLanguages, textsIn } from "../../src/profile/UserLanguage.ts"
import { defaultProfilePath, runUpdates, ScriptedModel, testBot, textMessage, textsTo } from "../../src/testing/index.ts"

const greetingEn = "Hello! I'm the Northwind Goods assistant. Ask me about delivery, payment, opening hours or returns, or tell me your name and phone so I can help with an order."
const greetingRu =
  "Здравствуйте! Я помощник магазина Northwind Goods. Спросите меня о доставке, оплате, часах работы или возврате — или назовите своё имя и телефон, чтобы я помог с заказом."

describe("the user's language", () => {
  it.effect("/start, /clear and the empty-message notice in Russian for \"ru\" and \"ru-RU\", in English for an unknown code or none", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([
        textMessage({ userId: 1, languageCode: "ru", text: "/start" }),
        textMessage({ userId: 1, languageCode: "ru", text: "/clear" }),
        textMessage({ userId: 1, languageCode: "ru", text: "   " }),
        textMessage({ userId: 2, languageCode: "ru-RU", text: "/start" }),
        textMessage({ userId: 3, languageCode: "xx", text: "/start" }),
        textMessage({ userId: 3, languageCode: "xx", text: "   " }),
        textMessage({ userId: 4, text: "/start" })
      ])
      expect(textsTo(sent, 1)).toEqual([
        greetingRu,
        "Готово: я забыл наш разговор (удалено сообщений: 0).",
        "Похоже, сообщение пустое. Что бы вы хотели узнать?"
      ])
      expect(textsTo(sent, 2)).toEqual([greetingRu])
      expect(textsTo(sent, 3)).toEqual([greetingEn, "Your message looks empty. What would you like to know?"])
      expect(textsTo(sent, 4)).toEqual([greetingEn])
    }).pipe(Effect.provide(testBot())))

  it.effect("the flood notice is in the flooding user's language", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([1, 2, 3].map((i) => textMessage({ userId: 5, languageCode: "ru", text: `вопрос ${i}` })))
      expect(textsTo(sent, 5)).toEqual([
        "ответ",
        "Вы отправляете сообщения слишком часто. Подождите немного: на сообщения, отправленные за это время, я не отвечу."
      ])
    }).pipe(Effect.provide(testBot({
      script: { classify: ["general"], think: ["notes"], synthesize: ["ответ"] },
      dispatcher: { floodBurst: 1, floodRefill: Duration.minutes(1), floodNoticeInterval: Duration.minutes(1) }
    }))))

  it.effect("the model is told to answer in the user's language", () =>
    Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 6, languageCode: "ru", text: "Когда вы открыты?" })])
      const requests = yield* (yield* ScriptedModel).requests
      const synthesis = requests.find((r) => r.purpose === "synthesize")
      // In the turn's own system message, after the history: the prompt's opening is every user's.
      const turnFacts = synthesis?.messages.slice(1).filter((m) => m.role === "system").map((m) => m.content).join("\n")
      expect(synthesis?.messages[0]?.content).not.toContain("Always answer in the customer's language")
      expect(turnFacts).toContain(
        "Always answer in the customer's language: the language of their messages, or else the language of their Telegram app (\"ru\")"
      )
    }).pipe(Effect.provide(testBot({ script: { classify: ["general"], think: ["notes"], synthesize: ["С 9 до 18."] } }))))

  it.effect("the shop profile has English (its default) and Russian; a language it lacks gets the default texts", () =>
    Effect.gen(function*() {
      const shop = yield* loadProfile(defaultProfilePath)
      expect(profileLanguages(shop)).toEqual(["en", "ru"])
      expect(textsIn(shop, languageOf("ru-RU")).greeting).toBe(greetingRu)
      expect(textsIn(shop, languageOf("de")).greeting).toBe(greetingEn)
      expect(textsIn(shop, Option.none()).greeting).toBe(greetingEn)
      // Operators' texts are the default language's only: Russian falls back to them.
      expect(textsIn(shop, languageOf("ru")).handoffNotice).toBe(shop.texts.handoffNotice)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a text per language must have one in the profile's language; plain strings are the default language", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      yield* fs.writeFileString(path.join(dir, "knowledge.md"), "## Hours\n\nWe open at 9.\n")
      const shop = JSON.parse(yield* fs.readFileString(defaultProfilePath)) as { texts: Record<string, unknown> }
      const write = (texts: Record<string, unknown>) => {
        const file = path.join(dir, "profile.json")
        return Effect.as(fs.writeFileString(file, JSON.stringify({ ...shop, texts })), file)
      }
      const plain = yield* loadProfile(yield* write({ ...shop.texts, greeting: "Hi", apology: "Sorry" }))
      expect(plain.texts.greeting).toBe("Hi")
      expect(textsIn(plain, languageOf("ru")).greeting).toBe("Hi")
      expect(textsIn(plain, languageOf("ru")).help).toBe(textsIn(yield* loadProfile(defaultProfilePath), languageOf("ru")).help)

      const error = yield* Effect.flip(loadProfile(yield* write({ ...shop.texts, greeting: { ru: "Привет" } })))
      expect(error.message).toBe("invalid profile:\n  texts.greeting: expected a text in the profile's language \"en\", got only ru")
      const badCode = yield* Effect.flip(loadProfile(yield* write({ ...shop.texts, greeting: { en: "Hi", Russian: "Привет" } })))
      expect(badCode.message).toContain("texts.greeting")

      // The texts by tool: each a string or one per language; a language without one has the default's.
      const tools = yield* loadProfile(yield* write({
        ...shop.texts,
        toolsWorking: { search_knowledge_base: { en: "Looking it up…", ru: "Ищу…" }, get_current_time: "Checking the clock…" }
      }))
      expect(tools.texts.toolsWorking).toEqual({ search_knowledge_base: "Looking it up…", get_current_time: "Checking the clock…" })
      expect(textsIn(tools, languageOf("ru")).toolsWorking).toEqual({ search_knowledge_base: "Ищу…", get_current_time: "Checking the clock…" })
      const toolError = yield* Effect.flip(loadProfile(yield* write({ ...shop.texts, toolsWorking: { search_knowledge_base: { ru: "Ищу…" } } })))
      expect(toolError.message).toBe(
        "invalid profile:\n  texts.toolsWorking.search_knowledge_base: expected a text in the profile's language \"en\", got only ru"
      )
    }).pipe(Effect.provide(NodeContext.layer)))
})
