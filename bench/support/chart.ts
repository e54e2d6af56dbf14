/**
 * An SVG chart of the W1 figures: acknowledgement latency (p50, p99) and completion time per
 * system, as horizontal bars on a logarithmic scale (the systems differ by orders of
 * magnitude), each bar labelled with its value.
 */
interface Row {
  readonly system: string
  readonly ackP50Ms: number
  readonly ackP99Ms: number
  readonly completionS: number
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const panel = (
  title: string,
  rows: ReadonlyArray<{ label: string; value: number; color: string; unit: string }>,
  top: number,
  width: number
): { svg: string; height: number } => {
  const left = 170
  const barArea = width - left - 90
  const max = Math.max(...rows.map((r) => r.value), 1)
  const min = Math.min(...rows.map((r) => Math.max(r.value, 0.01)), 1)
  const lo = Math.floor(Math.log10(min))
  const hi = Math.ceil(Math.log10(max)) + (Math.log10(max) % 1 === 0 ? 1 : 0)
  const x = (v: number) => ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * barArea
  const parts: Array<string> = [`<text x="10" y="${top + 18}" font-size="15" font-weight="bold">${escape(title)}</text>`]
  const barTop = top + 30
  rows.forEach((r, i) => {
    const y = barTop + i * 26
    parts.push(`<text x="${left - 8}" y="${y + 15}" font-size="12" text-anchor="end">${escape(r.label)}</text>`)
    parts.push(`<rect x="${left}" y="${y + 3}" width="${Math.max(1, x(r.value)).toFixed(1)}" height="17" fill="${r.color}"/>`)
    parts.push(`<text x="${left + Math.max(1, x(r.value)) + 5}" y="${y + 15}" font-size="12">${r.value} ${r.unit}</text>`)
  })
  const axisY = barTop + rows.length * 26 + 4
  for (let e = lo; e <= hi; e++) {
    const px = left + x(10 ** e)
    parts.push(`<line x1="${px}" y1="${barTop}" x2="${px}" y2="${axisY}" stroke="#ccc" stroke-width="1"/>`)
    parts.push(`<text x="${px}" y="${axisY + 14}" font-size="10" text-anchor="middle" fill="#666">${10 ** e}</text>`)
  }
  return { svg: parts.join("\n"), height: axisY + 24 - top }
}

export const renderChart = (rows: ReadonlyArray<Row>): string => {
  const width = 760
  const colors = ["#2b6cb0", "#2f855a", "#c53030", "#b7791f", "#6b46c1", "#4a5568"]
  const ack = panel(
    "W1 acknowledgement latency (ms, log scale): p50 and p99",
    rows.flatMap((r, i) => [
      { label: `${r.system} p50`, value: r.ackP50Ms, color: colors[i % colors.length]!, unit: "ms" },
      { label: `${r.system} p99`, value: r.ackP99Ms, color: colors[i % colors.length]!, unit: "ms" }
    ]),
    10,
    width
  )
  const completion = panel(
    "W1 time until every reply reached the Bot API (s, log scale)",
    rows.map((r, i) => ({ label: r.system, value: r.completionS, color: colors[i % colors.length]!, unit: "s" })),
    20 + ack.height,
    width
  )
  const height = 30 + ack.height + completion.height
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${ack.svg}
${completion.svg}
</svg>
`
}
