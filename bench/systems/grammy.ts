/**
 * The peer: a grammY bot behind `webhookCallback`, with the same dialog as ours written as
 * plain async code: the same store latencies (an asynchronous delay per store call), the same
 * three model calls to the fake OpenAI endpoint, the reply through grammY's Bot API client.
 * `BENCH_NOOP=1` makes the handler do nothing (intake benchmark).
 */
import { Bot, webhookCallback } from "grammy"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { env, serveBench } from "../support/child.ts"

const noop = process.env.BENCH_NOOP === "1"
const storeLatency = Number(env("BENCH_STORE_LATENCY_MS", "5"))
const openAiUrl = env("BENCH_OPENAI_URL", "http://127.0.0.1:9/v1")
const botApiUrl = env("BENCH_BOTAPI_URL", "http://127.0.0.1:9")
const secret = "bench-secret"

const bot = new Bot("123456:bench-token", {
  client: { apiRoot: botApiUrl },
  botInfo: {
    id: 1,
    is_bot: true,
    first_name: "Bench",
    username: "bench_bot",
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
    has_topics_enabled: false,
    allows_users_to_create_topics: false,
    can_manage_bots: false,
    supports_join_request_queries: false
  }
})

const store = () => sleep(storeLatency)
const complete = async (system: string, user: string): Promise<string> => {
  const res = await fetch(`${openAiUrl}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer bench" },
    body: JSON.stringify({ model: "bench", messages: [{ role: "system", content: system }, { role: "user", content: user }] })
  })
  const body = (await res.json()) as { choices: Array<{ message: { content: string } }> }
  return body.choices[0]?.message.content ?? ""
}

if (!noop) {
  bot.on("message:text", async (ctx) => {
    const text = ctx.message.text
    await store() // get or create the client
    await store() // reply already stored?
    await store() // last messages
    await store() // append the user's message
    await complete("Classify the message. Answer with one of: general.", text)
    await complete("Think.", text)
    const answer = await complete("Synthesize.", text)
    await store() // append the reply
    await store() // client blocked?
    await ctx.reply(answer)
  })
}

const handle = webhookCallback(bot, "http", { secretToken: secret })
const server = http.createServer((req, res) => {
  void handle(req, res)
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => {
  serveBench({
    port: (server.address() as AddressInfo).port,
    path: "/webhook",
    headers: { "x-telegram-bot-api-secret-token": secret }
  })
})
