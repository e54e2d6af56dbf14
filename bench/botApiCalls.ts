/**
 * CPU per Bot API call: `npx tsx bench/botApiCalls.ts [calls=4000] [concurrency=64]`.
 *
 * Sends `sendMessage` to the bench's fake Bot API (in this process, on 127.0.0.1), first as
 * plain keep-alive node:http requests (the least a call can cost), then through the bot's
 * `TelegramApi` (`TelegramApiHttp`: the call path with its decoding, metrics and scrubbing, and
 * its transport), `concurrency` calls at a time, after a warm-up of each. Prints the process CPU
 * time per call of each: both include the fake server's share, so the difference is what the
 * bot's client costs beyond a plain request.
 */
import * as http from "node:http"
import { Duration, Effect, Layer } from "effect"
import type { TelegramId } from "../src/domain/Update.ts"
import { TelegramApi } from "../src/telegram/TelegramApi.ts"
import { TelegramConfig } from "../src/telegram/TelegramConfig.ts"
import { TelegramApiHttp } from "../src/telegram/TelegramHttp.ts"
import { benchToken, startFakeBotApi } from "./support/fakes.ts"

const calls = Number(process.argv[2] ?? 4000)
const concurrency = Number(process.argv[3] ?? 64)
const token = benchToken

const cpuMsPerCall = async (run: (n: number) => Promise<void>) => {
  await run(Math.min(calls, 1000))
  const before = process.cpuUsage()
  await run(calls)
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000 / calls
}

const main = async () => {
  const fake = await startFakeBotApi()
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  const plainCall = (chatId: number) =>
    new Promise<void>((resolve, reject) => {
      const body = JSON.stringify({ chat_id: chatId, text: "hello" })
      const req = http.request(`${fake.url}/bot${token}/sendMessage`, {
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }
      }, (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => {
          JSON.parse(Buffer.concat(chunks).toString("utf8"))
          resolve()
        })
      })
      req.on("error", reject)
      req.end(body)
    })
  const inBatches = (call: (i: number) => Promise<void>) => async (n: number) => {
    let next = 0
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < n) await call(next++)
    }))
  }

  const config = TelegramConfig.forToken(token, { apiBaseUrl: fake.url, requestTimeout: Duration.seconds(10) })
  const api = await Effect.runPromise(Effect.provide(TelegramApi, TelegramApiHttp.pipe(Layer.provide(config))))
  const plain = await cpuMsPerCall(inBatches((i) => plainCall(i % 500 + 1)))
  const viaApi = await cpuMsPerCall(inBatches((i) => Effect.runPromise(Effect.asVoid(api.sendMessage({ chatId: (i % 500 + 1) as TelegramId, text: "hello" })))))
  console.log(JSON.stringify({ calls, concurrency, plainNodeHttpCpuMsPerCall: Number(plain.toFixed(3)), telegramApiCpuMsPerCall: Number(viaApi.toFixed(3)) }))
  agent.destroy()
  await fake.close()
}

void main()
