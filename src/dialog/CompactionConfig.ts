/** Settings of history compaction (`Compaction.ts`): whether old messages are folded into a summary, and by which model. */
import { Config, Option } from "effect"
import { Settings } from "../config.ts"

export const CompactionConfigSchema = Config.all({
  /**
   * `on`: the messages that fall out of the prompt's window (`HISTORY_LIMIT`,
   * `HISTORY_CHAR_BUDGET`) are folded into a running summary the prompt keeps; `off`: they are
   * forgotten.
   */
  enabled: Config.literal("on", "off")("COMPACTION").pipe(Config.withDefault("on" as const), Config.map((value) => value === "on")),
  /** The model that writes the summaries; the main model (`OPENAI_MODEL`) when unset. */
  summaryModel: Config.option(Config.string("SUMMARY_MODEL")).pipe(
    Config.map(Option.map((model) => model.trim())),
    Config.map(Option.filter((model) => model !== ""))
  )
})
export type CompactionConfigShape = Config.Config.Success<typeof CompactionConfigSchema>

export class CompactionConfig extends Settings<CompactionConfig>()("dialog-bot/CompactionConfig", CompactionConfigSchema) {}
