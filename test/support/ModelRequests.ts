/** Requests to the language model and the reading of its failures, shared by the model's tests. */
import { expect } from "@effect/vitest"
import type { Exit } from "effect"
import { type CompletionRequest, LanguageModelError } from "../../src/llm/LanguageModel.ts"

/** A short conversation asked for `purpose`. */
export const ask = (purpose: CompletionRequest["purpose"], text = "hello"): CompletionRequest => ({
  purpose,
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: text }]
})

/** A tool as the think stage offers it. */
export const searchSpec = {
  name: "search_knowledge_base",
  description: "Searches the knowledge base",
  parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"], additionalProperties: false }
}

/** The `LanguageModelError` a call failed with; fails the test otherwise. */
export const failure = <A>(exit: Exit.Exit<A, LanguageModelError>): LanguageModelError => {
  if (exit._tag === "Success") return expect.fail("expected the call to fail")
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (!(error instanceof LanguageModelError)) return expect.fail(`expected a LanguageModelError, got ${String(exit.cause)}`)
  return error
}
