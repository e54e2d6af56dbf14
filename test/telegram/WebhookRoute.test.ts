/**
 * The webhook's route in front of the platform's server: a request the route takes is
 * answered by it alone; any other goes on to the server's own listeners.
 */
import { describe, expect, it } from "@effect/vitest"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { withRoute } from "../../src/telegram/WebhookRoute.ts"

describe("withRoute", () => {
  it.scopedLive("answers the route's requests itself and passes the others on", () =>
    Effect.gen(function*() {
      const seenByListener: Array<string> = []
      const server = withRoute(
        createServer((request, response) => {
          seenByListener.push(`${request.method} ${request.url}`)
          response.end("listener")
        }),
        (request, response) => {
          if (request.url !== "/fast") return false
          response.end("route")
          return true
        }
      )
      yield* Effect.acquireRelease(
        Effect.async<void>((resume) => {
          server.listen(0, "127.0.0.1", () => resume(Effect.void))
        }),
        () => Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
      )
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const get = (path: string) => Effect.promise(() => fetch(`${base}${path}`, { method: "POST" }).then((r) => r.text()))
      expect(yield* get("/fast")).toBe("route")
      expect(yield* get("/other")).toBe("listener")
      expect(yield* get("/fast")).toBe("route")
      expect(seenByListener).toEqual(["POST /other"])
    }))
})
