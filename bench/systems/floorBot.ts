/**
 * The floor: the least Node code that does W1's dialog, with none of the guarantees — no
 * durable record before the ack, no dedupe, no retries, no deadline, no delivery records, no
 * metrics or logs. A node:http webhook answers 200 once the body is parsed; each chat's updates
 * run one after another on a promise chain; the dialog is the same as ours and grammY's: the
 * same store latencies (an asynchronous delay per store call), `typing`, three model calls to
 * the fake OpenAI endpoint, the reply — every request on a keep-alive `node:http` agent.
 * What this bot costs per update is what any bot doing this dialog in Node must pay.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { env, serveBench } from "../support/child.ts"

const storeLatency = Number(env("BENCH_STORE_LATENCY_MS", "5"))
const openAiUrl = new URL(`${env("BENCH_OPENAI_URL", "http://127.0.0.1:9/v1")}/chat/completions`)
const botApiUrl = env("BENCH_BOTAPI_URL", "http://127.0.0.1:9")
const token = "123456:bench-token"
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 })

const post = (url: URL, body: unknown): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const payload = JSON.stringify(body)
    const req = http.request(url, {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload), authorization: "Bearer bench" }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => {
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")))
        } catch (error) {
          reject(error)
        }
      })
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(payload)
  })

const store = () => sleep(storeLatency)
const botApi = (method: string, params: unknown) => post(new URL(`${botApiUrl}/bot${token}/${method}`), params)
const complete = async (system: string, user: string): Promise<string> => {
  const body = (await post(openAiUrl, {
    model: "bench",
    messages: [{ role: "system", content: system }, { role: "user", content: user }]
  })) as { choices?: Array<{ message?: { content?: string } }> }
  return body.choices?.[0]?.message?.content ?? ""
}

interface Message {
  readonly chat: { readonly id: number }
  readonly text?: string
}

const dialog = async (message: Message) => {
  const chatId = message.chat.id
  const text = message.text ?? ""
  await store() // get or create the client
  await store() // reply already stored?
  await store() // last messages
  await store() // append the user's message
  void botApi("sendChatAction", { chat_id: chatId, action: "typing" }).catch(() => undefined)
  await complete("Classify the message. Answer with one of: general.", text)
  await complete("Think.", text)
  const answer = await complete("Synthesize.", text)
  await store() // append the reply
  await store() // client blocked?
  await botApi("sendMessage", { chat_id: chatId, text: answer })
}

/** Each chat's last dialog: the next one of the chat runs after it. */
const chains = new Map<number, Promise<void>>()
const enqueue = (message: Message) => {
  const chatId = message.chat.id
  const next = (chains.get(chatId) ?? Promise.resolve()).then(() => dialog(message)).catch(() => undefined)
  chains.set(chatId, next)
  void next.then(() => {
    if (chains.get(chatId) === next) chains.delete(chatId)
  })
}

const server = http.createServer((req, res) => {
  const chunks: Array<Buffer> = []
  req.on("data", (c: Buffer) => chunks.push(c))
  req.on("end", () => {
    let update: { message?: Message } | undefined
    try {
      update = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { message?: Message }
    } catch {
      update = undefined
    }
    res.writeHead(update === undefined ? 400 : 200, { "content-length": 0 })
    res.end()
    if (update?.message?.text !== undefined) enqueue(update.message)
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => {
  serveBench({ port: (server.address() as AddressInfo).port, path: "/webhook" })
})
