/** Intake reference: a plain node:http server that only parses the JSON body and answers 200. */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { serveBench } from "../support/child.ts"

const server = http.createServer((req, res) => {
  const chunks: Array<Buffer> = []
  req.on("data", (c: Buffer) => chunks.push(c))
  req.on("end", () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString("utf8"))
      res.writeHead(200, { "content-length": 0 })
    } catch {
      res.writeHead(400, { "content-length": 0 })
    }
    res.end()
  })
})
server.keepAliveTimeout = 60_000
server.listen(0, "127.0.0.1", () => {
  serveBench({ port: (server.address() as AddressInfo).port, path: "/webhook" })
})
