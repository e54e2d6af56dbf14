import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import { LanguageModelOffline } from "../../src/llm/OfflineModel.ts"
import { BotProfileFile, fieldPath, loadProfile, parseKnowledge } from "../../src/profile/BotProfile.ts"
import { botLayer } from "../../src/runtime/BotLayer.ts"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import { TelegramApiRecorder } from "../../src/telegram/TelegramRecorder.ts"
import { builtinTools } from "../../src/tools/builtin/index.ts"
import { defineTool } from "../../src/tools/Tool.ts"
import { Tools } from "../../src/tools/Tools.ts"

const shopPath = new URL("../../profiles/shop/profile.json", import.meta.url).pathname
const clinicPath = new URL("../../examples/profiles/clinic-ru/profile.json", import.meta.url).pathname

/** A copy of the shop profile with `change` applied, written with a knowledge base into a temp dir. */
const writeProfile = (change: (profile: Record<string, unknown>) => unknown, options: { knowledge?: string | null; raw?: string } = {}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped()
    const shop = JSON.parse(yield* fs.readFileString(shopPath)) as Record<string, unknown>
    const file = path.join(dir, "profile.json")
    yield* fs.writeFileString(file, options.raw ?? JSON.stringify(change(shop), null, 2))
    if (options.knowledge !== null) {
      yield* fs.writeFileString(path.join(dir, "knowledge.md"), options.knowledge ?? "## Hours\n\nWe open at 9.\n")
    }
    return file
  })

const loadError = (change: (profile: Record<string, unknown>) => unknown, options: { knowledge?: string | null; raw?: string } = {}) =>
  Effect.flatMap(writeProfile(change, options), (file) => Effect.map(Effect.flip(loadProfile(file)), (error) => ({ file, error })))

const without = (key: string) => (p: Record<string, unknown>) => Object.fromEntries(Object.entries(p).filter(([k]) => k !== key))
const stagesOf = (p: Record<string, unknown>) => p.stages as Array<Record<string, unknown>>

describe("loadProfile", () => {
  it.effect("loads the bundled shop profile and the clinic example", () =>
    Effect.gen(function*() {
      const shop = yield* loadProfile(shopPath)
      expect(shop.source).toBe(shopPath)
      expect(shop.defaultStage).toBe("general")
      expect(shop.knowledge.length).toBeGreaterThan(3)
      const clinic = yield* loadProfile(clinicPath)
      expect(clinic.name).toBe("Стоматология «Улыбка»")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a missing field names the file and the field", () =>
    Effect.gen(function*() {
      const { error, file } = yield* loadError(without("persona"))
      expect(error._tag).toBe("ConfigurationError")
      expect(error.source).toBe(file)
      expect(error.message).toBe("invalid profile:\n  persona: is missing")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a missing nested field is named by its path", () =>
    Effect.gen(function*() {
      const { error } = yield* loadError((p) => ({ ...p, texts: without("apology")(p.texts as Record<string, unknown>) }))
      expect(error.message).toBe("invalid profile:\n  texts.apology: is missing")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a field of the wrong type says what was expected and what was found", () =>
    Effect.gen(function*() {
      const { error } = yield* loadError((p) => ({ ...p, persona: 42, stages: [{ ...stagesOf(p)[0], tools: "search_knowledge_base" }, ...stagesOf(p).slice(1)] }))
      expect(error.message).toContain("  persona: Expected string, actual 42")
      expect(error.message).toContain("  stages[0].tools: Expected ReadonlyArray<")
      expect(error.message).toContain("actual \"search_knowledge_base\"")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("an empty text, a bad stage id and a bad tool name are each reported", () =>
    Effect.gen(function*() {
      const { error } = yield* loadError((p) => ({
        ...p,
        texts: { ...(p.texts as Record<string, unknown>), greeting: "" },
        stages: [{ ...stagesOf(p)[0], id: "General Questions", tools: ["search kb"] }, ...stagesOf(p).slice(1)]
      }))
      expect(error.message).toContain("  texts.greeting: expected a non-empty string")
      expect(error.message).toContain("  stages[0].id: expected a stage id (a lower-case letter, then lower-case letters, digits or _, at most 40), got \"General Questions\"")
      expect(error.message).toContain("  stages[0].tools[0]: expected a tool name (letters, digits, _ or -, at most 64) or server__* (every tool of an MCP server), got \"search kb\"")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("no stages at all is an error", () =>
    Effect.gen(function*() {
      const { error } = yield* loadError((p) => ({ ...p, stages: [] }))
      expect(error.message).toBe("invalid profile:\n  stages[0]: is missing")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a defaultStage that is not a stage lists the stage ids", () =>
    Effect.gen(function*() {
      const { error } = yield* loadError((p) => ({ ...p, defaultStage: "smalltalk" }))
      expect(error.message).toBe(
        "invalid profile:\n  defaultStage: expected one of the stage ids (general, delivery, payment, support, account)"
      )
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("duplicate stage ids name the stage used twice", () =>
    Effect.gen(function*() {
      const { error } = yield* loadError((p) => ({ ...p, stages: [...stagesOf(p), { ...stagesOf(p)[1] }] }))
      expect(error.message).toBe("invalid profile:\n  stages[5].id: stage ids must be unique: \"delivery\" is used twice")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a field the profile does not have is reported, not ignored", () =>
    Effect.gen(function*() {
      const { error } = yield* loadError((p) => ({ ...p, greeting: "Hi" }))
      expect(error.message).toMatch(/^invalid profile:\n {2}greeting: is unexpected, expected: "name" \|/)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("invalid JSON says where", () =>
    Effect.gen(function*() {
      const { error, file } = yield* loadError(() => null, { raw: "{\n  \"name\": \"Shop\",\n  oops\n}" })
      expect(error.source).toBe(file)
      expect(error.message).toMatch(/^invalid profile:\n {2}not valid JSON: .* \(line 3, column 3\)$/)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a profile that is JSON but not an object is reported", () =>
    Effect.gen(function*() {
      const { error } = yield* loadError(() => null, { raw: "[1, 2]" })
      expect(error.message).toMatch(/^invalid profile:\n {2}\(the whole file\): Expected \{/)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a missing knowledge base file names the path it looked for", () =>
    Effect.gen(function*() {
      const path = yield* Path.Path
      const { error, file } = yield* loadError((p) => p, { knowledge: null })
      expect(error.source).toBe(file)
      expect(error.message).toContain(`cannot read the knowledge base ${path.join(path.dirname(file), "knowledge.md")}`)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a knowledge base without sections is an error", () =>
    Effect.gen(function*() {
      const { error } = yield* loadError((p) => p, { knowledge: "# Title\n\nno sections here\n" })
      expect(error.message).toMatch(/knowledge\.md has no "## " sections/)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a profile file that does not exist is a ConfigurationError", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(loadProfile("/nonexistent/profile.json"))
      expect(error.source).toBe("/nonexistent/profile.json")
      expect(error.message).toMatch(/^cannot read the profile/)
    }).pipe(Effect.provide(NodeContext.layer)))

  it("parseKnowledge splits at ## headings and ignores text before the first one", () => {
    expect(parseKnowledge("intro\n## A\none\n\n## B  \ntwo\n### still B\n")).toEqual([
      { title: "A", text: "one" },
      { title: "B", text: "two\n### still B" }
    ])
    expect(fieldPath(["stages", 2, "tools", 0])).toBe("stages[2].tools[0]")
  })
})

const orderStatus = defineTool({
  name: "get_order_status",
  description: "status of an order",
  parameters: Schema.Struct({ order_id: Schema.String }),
  handler: (args) => Effect.succeed({ order_id: args.order_id, status: "shipped" })
})

const startBot = (profile: string, tools: ReadonlyArray<typeof orderStatus | (typeof builtinTools)[number]>) =>
  Layer.build(
    botLayer({
      telegram: TelegramApiRecorder(),
      model: LanguageModelOffline,
      stores: StoresMemory,
      profile: BotProfileFile(profile).pipe(Layer.provide(NodeContext.layer)),
      tools,
      dialogConfig: DialogConfig.make(),
      dispatcherConfig: DispatcherConfig.make(),
      sendConfig: SendConfig.make()
    })
  )

describe("startup checks where tools and profile meet", () => {
  it.scoped("a stage allowing a tool that is not registered stops the bot at start", () =>
    Effect.gen(function*() {
      const file = yield* writeProfile((p) => ({
        ...p,
        stages: [...stagesOf(p).slice(0, 2), { ...stagesOf(p)[2], tools: ["search_knowledge_base", "get_order_status"] }, ...stagesOf(p).slice(3)]
      }))
      const error = yield* Effect.flip(startBot(file, builtinTools))
      expect(error._tag).toBe("ConfigurationError")
      if (error._tag !== "ConfigurationError") return
      expect(error.source).toBe(file)
      expect(error.message).toBe(
        "stages[2].tools[1]: stage \"payment\" allows the tool \"get_order_status\", which is not registered\n" +
          "registered tools: get_client_profile, update_client_profile, search_knowledge_base, get_current_time, request_human_handoff, remember, forget"
      )
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("registering the tool is all it takes", () =>
    Effect.gen(function*() {
      const file = yield* writeProfile((p) => ({
        ...p,
        stages: [{ ...stagesOf(p)[0], tools: ["get_order_status"] }, ...stagesOf(p).slice(1)]
      }))
      const context = yield* startBot(file, [...builtinTools, orderStatus])
      const tools = yield* Effect.provide(Tools, context)
      expect(tools.names).toContain("get_order_status")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("two tools with one name stop the bot at start", () =>
    Effect.gen(function*() {
      const clash = defineTool({
        name: "search_knowledge_base",
        description: "another search",
        parameters: Schema.Struct({}),
        handler: () => Effect.succeed([])
      })
      const error = yield* Effect.flip(startBot(shopPath, [...builtinTools, clash]))
      expect(error._tag).toBe("ConfigurationError")
      if (error._tag !== "ConfigurationError") return
      expect(error.source).toBe("tools")
      expect(error.message).toBe("two tools are named \"search_knowledge_base\"")
    }).pipe(Effect.provide(NodeContext.layer)))
})
