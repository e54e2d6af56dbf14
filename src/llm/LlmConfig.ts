/**
 * Settings of the live language model, read with effect's `Config`. The keys are `Redacted`;
 * the live model is used when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set. A fallback
 * endpoint (`OPENAI_FALLBACK_*`) answers the calls the primary fails (`FallbackModel.ts`).
 */
import { Config, Option, Redacted } from "effect"
import { duration, Settings } from "../config.ts"
import type { Purpose } from "./LanguageModel.ts"

const nonEmpty = (name: string) =>
  Config.option(Config.string(name)).pipe(Config.map(Option.filter((s) => s.trim() !== "")), Config.map(Option.map((s) => s.trim())))

const isHttpUrl = (text: string) => {
  if (!URL.canParse(text)) return false
  const protocol = new URL(text).protocol
  return protocol === "http:" || protocol === "https:"
}

/** The optional URL setting `name` must be http(s) when set. */
const httpUrl = (name: string) =>
  Config.validate<Option.Option<string>>({
    message: `${name} must be an http(s) URL such as http://127.0.0.1:8000/v1`,
    validation: Option.match({ onNone: () => true, onSome: isHttpUrl })
  })

/** An optional secret setting; an empty value is none. */
const secret = (key: Config.Config<Redacted.Redacted<string>>) =>
  Config.option(key).pipe(Config.map(Option.filter((value) => Redacted.value(value).trim() !== "")))

export const defaultBaseUrl = "https://api.openai.com/v1"

export const LlmConfigSchema = Config.all({
  /** The API key; local endpoints often need none (a placeholder is sent then). */
  apiKey: secret(Config.redacted("OPENAI_API_KEY")),
  /** The endpoint, e.g. `http://127.0.0.1:11434/v1` for Ollama; OpenAI's when not set. */
  baseUrl: nonEmpty("OPENAI_BASE_URL").pipe(httpUrl("OPENAI_BASE_URL")),
  /** The model of every stage that has no model of its own. */
  model: Config.string("OPENAI_MODEL").pipe(Config.withDefault("gpt-4o-mini")),
  classifyModel: nonEmpty("OPENAI_MODEL_CLASSIFY"),
  thinkModel: nonEmpty("OPENAI_MODEL_THINK"),
  synthesizeModel: nonEmpty("OPENAI_MODEL_SYNTHESIZE"),
  /** The endpoint of calls the primary fails; the primary's when only the fallback model is set. */
  fallbackBaseUrl: nonEmpty("OPENAI_FALLBACK_BASE_URL").pipe(httpUrl("OPENAI_FALLBACK_BASE_URL")),
  /** The fallback endpoint's key; unset, the primary's key goes only to the primary's endpoint. */
  fallbackApiKey: secret(Config.redacted("OPENAI_FALLBACK_API_KEY")),
  /** The model of every stage on the fallback; unset, each stage asks the fallback for its own model. */
  fallbackModel: nonEmpty("OPENAI_FALLBACK_MODEL"),
  /** Sampling temperature; not sent when unset (some models accept only their default). */
  temperature: Config.option(Config.number("LLM_TEMPERATURE")).pipe(
    Config.validate({
      message: "LLM_TEMPERATURE must be between 0 and 2",
      validation: Option.match({ onNone: () => true, onSome: (t) => t >= 0 && t <= 2 })
    })
  ),
  /** Deadline of one HTTP request to the model (each retry has its own). */
  timeout: duration("LLM_TIMEOUT", "30 seconds"),
  /** Output tokens of one completion at most; not sent when unset. */
  maxOutputTokens: Config.option(Config.integer("LLM_MAX_OUTPUT_TOKENS")).pipe(
    Config.validate({
      message: "LLM_MAX_OUTPUT_TOKENS must be a positive integer",
      validation: Option.match({ onNone: () => true, onSome: (n) => n > 0 })
    })
  ),
  /** Retries of one completion after 408, 409, 429, 5xx, a timeout or a connection error. */
  maxRetries: Config.integer("LLM_MAX_RETRIES").pipe(
    Config.withDefault(2),
    Config.validate({ message: "LLM_MAX_RETRIES must be 0 or more", validation: (n) => n >= 0 })
  ),
  /** First backoff delay when the endpoint says nothing (doubles each retry, with jitter). */
  backoffBase: duration("LLM_BACKOFF_BASE", "500 millis"),
  /** Longest wait honoured from `retry-after` / `retry-after-ms`. */
  retryAfterCap: duration("LLM_RETRY_AFTER_CAP", "20 seconds"),
  /** Characters of one tool result sent back to the model at most. */
  toolResultChars: Config.integer("LLM_TOOL_RESULT_CHARS").pipe(
    Config.withDefault(4000),
    Config.validate({ message: "LLM_TOOL_RESULT_CHARS must be at least 100", validation: (n) => n >= 100 })
  )
})
export type LlmConfigShape = Config.Config.Success<typeof LlmConfigSchema>

export class LlmConfig extends Settings<LlmConfig>()("dialog-bot/LlmConfig", LlmConfigSchema) {}

/** Whether the environment asks for the live model: `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set. */
export const liveModelRequested = Config.all([nonEmpty("OPENAI_API_KEY"), nonEmpty("OPENAI_BASE_URL")]).pipe(
  Config.map(([key, url]) => Option.isSome(key) || Option.isSome(url))
)

/** The model a purpose uses (a summary's own model, `SUMMARY_MODEL`, comes with its request). */
export const modelFor = (config: LlmConfigShape, purpose: Purpose): string =>
  Option.getOrElse(
    purpose === "classify"
      ? config.classifyModel
      : purpose === "think"
      ? config.thinkModel
      : purpose === "synthesize"
      ? config.synthesizeModel
      : Option.none(),
    () => config.model
  )

/**
 * The settings of the fallback endpoint, when one is configured (`OPENAI_FALLBACK_BASE_URL` or
 * `OPENAI_FALLBACK_MODEL`): the primary's, with the fallback's endpoint, key and model. The
 * primary's key is sent to the fallback only when both are the one endpoint.
 */
export const fallbackConfig = (config: LlmConfigShape): Option.Option<LlmConfigShape> => {
  if (Option.isNone(config.fallbackBaseUrl) && Option.isNone(config.fallbackModel)) return Option.none()
  const ownModel = Option.isSome(config.fallbackModel)
  return Option.some({
    ...config,
    baseUrl: Option.orElse(config.fallbackBaseUrl, () => config.baseUrl),
    apiKey: Option.isSome(config.fallbackBaseUrl) ? config.fallbackApiKey : Option.orElse(config.fallbackApiKey, () => config.apiKey),
    model: Option.getOrElse(config.fallbackModel, () => config.model),
    classifyModel: ownModel ? Option.none() : config.classifyModel,
    thinkModel: ownModel ? Option.none() : config.thinkModel,
    synthesizeModel: ownModel ? Option.none() : config.synthesizeModel,
    fallbackBaseUrl: Option.none(),
    fallbackApiKey: Option.none(),
    fallbackModel: Option.none()
  })
}

/** The endpoint without credentials, query or trailing slash: safe to print. */
export const publicEndpoint = (config: LlmConfigShape): string => {
  const raw = Option.getOrElse(config.baseUrl, () => defaultBaseUrl)
  if (!URL.canParse(raw)) return "(invalid URL)"
  const url = new URL(raw)
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`
}

/** One endpoint's models, e.g. `gpt-4o-mini at https://api.openai.com/v1 (classify: gpt-4.1-nano)`. */
const describeEndpoint = (config: LlmConfigShape): string => {
  const own = (["classify", "think", "synthesize"] as const)
    .filter((purpose) => modelFor(config, purpose) !== config.model)
    .map((purpose) => `${purpose}: ${modelFor(config, purpose)}`)
  return `${config.model} at ${publicEndpoint(config)}${own.length > 0 ? ` (${own.join(", ")})` : ""}`
}

/** e.g. `openai-compatible gpt-4o-mini at https://api.openai.com/v1 (classify: gpt-4.1-nano), fallback llama3 at http://10.0.0.5:8000/v1`. */
export const describeLlm = (config: LlmConfigShape): string =>
  `openai-compatible ${describeEndpoint(config)}${
    Option.match(fallbackConfig(config), { onNone: () => "", onSome: (fallback) => `, fallback ${describeEndpoint(fallback)}` })
  }`
