import { describe, expect, it } from "@effect/vitest"
import { parseStage } from "../../src/dialog/classification.ts"

const shop = ["general", "delivery", "payment", "support", "account"]
const withCompound = ["general", "order", "order_status", "returns-and-refunds", "доставка"]

describe("parseStage", () => {
  const cases: ReadonlyArray<readonly [label: string, output: string | null, expected: string]> = [
    ["a bare id", "delivery", "delivery"],
    ["upper case", "DELIVERY", "delivery"],
    ["title case with a full stop", "Payment.", "payment"],
    ["surrounding whitespace and a newline", "  \n support \n", "support"],
    ["double quotes", "\"account\"", "account"],
    ["single quotes", "'account'", "account"],
    ["guillemets", "«delivery»", "delivery"],
    ["backticks", "`payment`", "payment"],
    ["markdown bold", "**support**", "support"],
    ["a label", "Stage: delivery", "delivery"],
    ["a label naming another stage later", "The customer asks about payment. Stage: delivery", "delivery"],
    ["a sentence", "I think this is about payment, clearly.", "payment"],
    ["the earliest of two mentions", "delivery, maybe payment", "delivery"],
    ["a JSON object", "{\"stage\": \"payment\"}", "payment"],
    ["a JSON object with another key", "{\"category\": \"Support\", \"confidence\": 0.9}", "support"],
    ["JSON in a fence", "```json\n{\"stage\": \"account\"}\n```", "account"],
    ["JSON in a fence with prose around it", "Here you go:\n```json\n{ \"stage\": \"delivery\", \"reason\": \"asks about payment\" }\n```\nHope it helps", "delivery"],
    ["JSON whose field names no stage falls back to the text", "{\"stage\": \"weather\"} but really payment", "payment"],
    ["broken JSON still read as text", "{stage: delivery", "delivery"],
    ["Russian prose around the id", "Категория: delivery.", "delivery"],
    ["Spanish prose around the id", "La etapa es «payment».", "payment"],
    ["German label", "Kategorie: support", "support"],
    ["full-width characters", "ｄｅｌｉｖｅｒｙ", "delivery"],
    ["reasoning before the answer", "<think>maybe delivery? no, they want to pay</think>\npayment", "payment"],
    ["an unclosed reasoning prefix", "they want to pay so not delivery</think> payment", "payment"],
    ["a stage that does not exist", "weather", "general"],
    ["a stage in another language that does not exist", "Категория: погода", "general"],
    ["a word containing an id is not the id", "redelivery", "general"],
    ["empty", "", "general"],
    ["only punctuation", "...!?", "general"],
    ["no answer at all", null, "general"]
  ]
  for (const [label, output, expected] of cases) {
    it(`${label}: ${JSON.stringify(output)} → ${expected}`, () => {
      expect(parseStage(output, shop, "general")).toBe(expected)
    })
  }

  const compound: ReadonlyArray<readonly [output: string, expected: string]> = [
    ["order_status", "order_status"],
    ["Order status", "order_status"],
    ["order-status", "order_status"],
    ["stage: ORDER STATUS", "order_status"],
    ["order", "order"],
    ["It is about the order.", "order"],
    ["returns and refunds", "returns-and-refunds"],
    ["{\"intent\": \"returns_and_refunds\"}", "returns-and-refunds"],
    ["Доставка", "доставка"],
    ["Этап: «ДОСТАВКА»", "доставка"],
    ["(.*) order+", "order"]
  ]
  for (const [output, expected] of compound) {
    it(`ids with separators and other scripts: ${JSON.stringify(output)} → ${expected}`, () => {
      expect(parseStage(output, withCompound, "general")).toBe(expected)
    })
  }

  it("ids with regular expression characters are matched literally", () => {
    expect(parseStage("c++ please", ["general", "c++", "c"], "general")).toBe("c++")
    expect(parseStage("a.b", ["general", "a.b"], "general")).toBe("a.b")
    expect(parseStage("axb", ["general", "a.b"], "general")).toBe("general")
  })
})
