import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { JsonResponse, keepAliveFetch } from "../../src/http/keepAliveFetch.ts"

let server: Server
let base = ""

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = ""
    req.on("data", (c: Buffer) => (body += c.toString("utf8")))
    req.on("end", () => {
      const route = req.url ?? ""
      if (route === "/json") {
        res.writeHead(200, { "content-type": "application/json; charset=utf-8", "x-request-id": "req_1" })
        res.end(JSON.stringify({ echo: body, method: req.method, auth: req.headers["authorization"] ?? null, text: "привет" }))
      } else if (route === "/problem") {
        res.writeHead(429, { "content-type": "application/problem+json", "retry-after-ms": "250" })
        res.end(JSON.stringify({ error: { message: "slow down" } }))
      } else if (route === "/broken") {
        res.writeHead(200, { "content-type": "application/json" })
        res.end("{not json")
      } else if (route === "/echo") {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({ method: req.method, type: req.headers["content-type"] ?? null, body }))
      } else if (route === "/text") {
        res.writeHead(200, { "content-type": "text/plain" })
        res.end("plain words")
      } else {
        res.writeHead(204)
        res.end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe("keepAliveFetch", () => {
  it("answers a JSON body as a JsonResponse: a Response whose text, json and bytes are the body", async () => {
    const headers = new Headers({ authorization: "Bearer k", "content-type": "application/json" })
    const response = await keepAliveFetch(`${base}/json`, { method: "POST", headers, body: JSON.stringify({ q: 1 }) })
    expect(response).toBeInstanceOf(Response)
    expect(response).toBeInstanceOf(JsonResponse)
    expect(response.status).toBe(200)
    expect(response.ok).toBe(true)
    expect(response.headers.get("x-request-id")).toBe("req_1")
    const expected = { echo: "{\"q\":1}", method: "POST", auth: "Bearer k", text: "привет" }
    expect(await response.json()).toEqual(expected)
    expect(JSON.parse(await response.text())).toEqual(expected)
    expect(JSON.parse(Buffer.from(await response.arrayBuffer()).toString("utf8"))).toEqual(expected)
  })

  it("keeps an error's status, headers and body (+json media types too)", async () => {
    const response = await keepAliveFetch(`${base}/problem`, { method: "GET" })
    expect(response).toBeInstanceOf(JsonResponse)
    expect(response.ok).toBe(false)
    expect(response.status).toBe(429)
    expect(response.headers.get("retry-after-ms")).toBe("250")
    expect(JSON.parse(await response.text())).toEqual({ error: { message: "slow down" } })
  })

  it("rejects json() of a body that is not JSON with the parser's SyntaxError", async () => {
    const response = await keepAliveFetch(`${base}/broken`, { method: "GET" })
    await expect(response.json()).rejects.toBeInstanceOf(SyntaxError)
    expect(await response.text()).toBe("{not json")
  })

  it("answers other bodies and empty answers as plain Responses", async () => {
    const text = await keepAliveFetch(`${base}/text`, { method: "GET" })
    expect(text).not.toBeInstanceOf(JsonResponse)
    expect(await text.text()).toBe("plain words")
    const empty = await keepAliveFetch(`${base}/nothing`, { method: "GET" })
    expect(empty.status).toBe(204)
    expect(empty.body).toBeNull()
  })

  it("fails like fetch: a TypeError when nothing answers, an AbortError when aborted", async () => {
    await expect(keepAliveFetch("http://127.0.0.1:9/", { method: "GET" })).rejects.toBeInstanceOf(TypeError)
    const aborted = new AbortController()
    aborted.abort()
    await expect(keepAliveFetch(`${base}/json`, { method: "GET", signal: aborted.signal })).rejects.toMatchObject({ name: "AbortError" })
  })

  it("sends every kind of request itself, never through the global fetch: a Request, a multipart upload", async () => {
    const global = globalThis.fetch
    globalThis.fetch = () => Promise.reject(new Error("the global fetch was used"))
    try {
      const form = new FormData()
      form.append("model", "whisper-1")
      form.append("file", new Blob([Uint8Array.from([1, 2, 3])]), "voice.oga")
      const upload = await keepAliveFetch(`${base}/echo`, { method: "POST", body: form })
      const sent = await upload.json() as { method: string; type: string; body: string }
      expect(sent.method).toBe("POST")
      const boundary = /^multipart\/form-data; boundary=(.+)$/.exec(sent.type)?.[1]
      expect(boundary).toBeDefined()
      expect(sent.body).toContain(`--${boundary}`)
      expect(sent.body).toContain("name=\"model\"\r\n\r\nwhisper-1")
      expect(sent.body).toContain("filename=\"voice.oga\"")

      const request = new Request(`${base}/echo`, { method: "PUT", headers: { "content-type": "text/plain" }, body: "as a Request" })
      expect(await (await keepAliveFetch(request)).json()).toEqual({ method: "PUT", type: "text/plain", body: "as a Request" })
    } finally {
      globalThis.fetch = global
    }
  })
})
