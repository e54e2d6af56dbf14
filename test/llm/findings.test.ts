/**
 * The findings message is a contract between the pipeline, which writes it, and the offline
 * model, which reads the think step's notes back from it: both use the headings of
 * `llm/findings.ts`.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { renderFindings } from "../../src/dialog/prompts.ts"
import { notesHeading, toolResultsHeading } from "../../src/llm/findings.ts"
import { LanguageModel } from "../../src/llm/LanguageModel.ts"
import { LanguageModelOffline } from "../../src/llm/OfflineModel.ts"
import { BotProfile, BotProfileFile } from "../../src/profile/BotProfile.ts"
import { defaultProfilePath } from "../../src/testing/index.ts"

const profileLayer = BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie)
const offline = LanguageModelOffline.pipe(Layer.provide(profileLayer))

const synthesize = (findings: string, question = "how much is delivery?") =>
  Effect.flatMap(LanguageModel, (model) =>
    model.complete({
      purpose: "synthesize",
      messages: [
        { role: "user", content: "earlier" },
        { role: "assistant", content: "an earlier answer" },
        { role: "user", content: question },
        { role: "system", content: findings }
      ]
    }))

describe("the findings message", () => {
  it("is written under the shared headings", () => {
    const findings = renderFindings("notes", [{ callId: "c", name: "t", ok: true, content: "{}" }])
    expect(findings).toBe(`${notesHeading}\nnotes\n\n${toolResultsHeading}\n- t: {}`)
  })

  it.effect("the offline model answers with the notes the pipeline rendered", () =>
    Effect.gen(function*() {
      const findings = renderFindings("Standard delivery is 4.90 EUR.", [{ callId: "c", name: "t", ok: true, content: "{}" }])
      expect((yield* synthesize(findings)).text).toBe("Standard delivery is 4.90 EUR.")
      const none = yield* synthesize(renderFindings("", []))
      expect(none.text).toMatch(/^Thanks for your message! I can answer questions about Northwind Goods: /)
    }).pipe(Effect.provide(offline)))

  it.effect("with nothing found, a greeting gets the profile's greeting, never the stages' internal descriptions", () =>
    Effect.gen(function*() {
      const profile = yield* BotProfile
      for (const hello of ["hello", "Hi!", "good morning", "Привет"]) {
        expect((yield* synthesize(renderFindings("", []), hello)).text).toBe(profile.texts.greeting)
      }
      const other = (yield* synthesize(renderFindings("", []), "what a day")).text
      for (const stage of profile.stages) expect(other).not.toContain(stage.description)
    }).pipe(Effect.provide(Layer.merge(offline, profileLayer))))
})
