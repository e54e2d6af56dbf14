/**
 * effect's metrics in the Prometheus text exposition format (version 0.0.4): what a
 * Prometheus server, Grafana Agent or VictoriaMetrics scrapes from `GET /metrics`.
 *
 * Counters and gauges become one sample per tag set; histograms become cumulative
 * `_bucket{le="…"}` samples (ending with `le="+Inf"`) plus `_sum` and `_count`; summaries
 * become `{quantile="…"}` samples plus `_sum` and `_count`; a frequency becomes a counter with
 * a `key` label per observed value. Metric tags become labels. Names and label names are
 * sanitized to Prometheus' alphabet, label values and help texts escaped.
 */
import { Effect, Metric, type MetricPair, MetricState, Option } from "effect"

/** The content type of the exposition format. */
export const prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

type FamilyType = "counter" | "gauge" | "histogram" | "summary"

interface Family {
  readonly name: string
  readonly type: FamilyType
  help: string | undefined
  readonly samples: Array<{ readonly order: string; readonly lines: ReadonlyArray<string> }>
}

/** A metric name in Prometheus' alphabet: `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
export const sanitizeMetricName = (name: string): string => {
  const cleaned = name.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[a-zA-Z_:]/.test(cleaned) ? cleaned : `_${cleaned}`
}

/** A label name in Prometheus' alphabet: `[a-zA-Z_][a-zA-Z0-9_]*`. */
export const sanitizeLabelName = (name: string): string => {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`
}

const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

/** A sample value: `+Inf`, `-Inf`, `NaN` or the number. */
export const formatValue = (value: number | bigint): string => {
  if (typeof value === "bigint") return value.toString()
  if (Number.isNaN(value)) return "NaN"
  if (value === Number.POSITIVE_INFINITY) return "+Inf"
  if (value === Number.NEGATIVE_INFINITY) return "-Inf"
  return String(value)
}

type Labels = ReadonlyArray<readonly [string, string]>

const renderLabels = (labels: Labels): string =>
  labels.length === 0 ? "" : `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`

const sample = (name: string, labels: Labels, value: number | bigint): string =>
  `${name}${renderLabels(labels)} ${formatValue(value)}`

const familyOf = (state: MetricState.MetricState.Untyped): FamilyType | undefined =>
  MetricState.isCounterState(state) || MetricState.isFrequencyState(state)
    ? "counter"
    : MetricState.isGaugeState(state)
    ? "gauge"
    : MetricState.isHistogramState(state)
    ? "histogram"
    : MetricState.isSummaryState(state)
    ? "summary"
    : undefined

const samplesOf = (name: string, labels: Labels, state: MetricState.MetricState.Untyped): ReadonlyArray<string> => {
  if (MetricState.isCounterState(state)) return [sample(name, labels, state.count)]
  if (MetricState.isGaugeState(state)) return [sample(name, labels, state.value)]
  if (MetricState.isFrequencyState(state)) {
    return [...state.occurrences].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, count]) =>
      sample(name, [...labels, ["key", key]], count)
    )
  }
  if (MetricState.isHistogramState(state)) {
    const buckets = [...state.buckets].sort(([a], [b]) => a - b)
    const lines = buckets
      .filter(([boundary]) => boundary !== Number.POSITIVE_INFINITY)
      .map(([boundary, count]) => sample(`${name}_bucket`, [...labels, ["le", formatValue(boundary)]], count))
    return [
      ...lines,
      sample(`${name}_bucket`, [...labels, ["le", "+Inf"]], state.count),
      sample(`${name}_sum`, labels, state.sum),
      sample(`${name}_count`, labels, state.count)
    ]
  }
  if (MetricState.isSummaryState(state)) {
    const quantiles = state.quantiles.flatMap(([quantile, value]) =>
      Option.isSome(value) ? [sample(name, [...labels, ["quantile", formatValue(quantile)]], value.value)] : []
    )
    return [...quantiles, sample(`${name}_sum`, labels, state.sum), sample(`${name}_count`, labels, state.count)]
  }
  return []
}

/**
 * The exposition text of a metric snapshot. Families are sorted by name and samples by
 * labels, so the output is stable; a name used by metrics of different types keeps the
 * first type seen and drops the others.
 */
export const renderPrometheus = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>): string => {
  const families = new Map<string, Family>()
  for (const pair of pairs) {
    const type = familyOf(pair.metricState)
    if (type === undefined) continue
    const name = sanitizeMetricName(pair.metricKey.name)
    const existing = families.get(name)
    if (existing !== undefined && existing.type !== type) continue
    const family = existing ?? { name, type, help: undefined, samples: [] }
    if (existing === undefined) families.set(name, family)
    const description = Option.getOrUndefined(pair.metricKey.description)
    if (family.help === undefined && description !== undefined && description !== "") family.help = description
    const labels: Labels = [...pair.metricKey.tags]
      .map((tag): readonly [string, string] => [sanitizeLabelName(tag.key), tag.value])
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    family.samples.push({ order: renderLabels(labels), lines: samplesOf(name, labels, pair.metricState) })
  }
  const out: Array<string> = []
  for (const family of [...families.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (family.help !== undefined) out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`)
    out.push(`# TYPE ${family.name} ${family.type}`)
    for (const s of family.samples.sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0))) {
      out.push(...s.lines)
    }
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`
}

/** Every metric of the process, rendered now. */
export const prometheusText: Effect.Effect<string> = Effect.map(Metric.snapshot, renderPrometheus)
