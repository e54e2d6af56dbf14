/**
 * The test suite's fake OpenAI (`test/support/FakeOpenAi.ts`) in a process of its own, for a
 * bench that measures only the client's CPU: every request is answered at once with
 * `BENCH_ANSWER` (whole, or one chunk per word when streamed, then the finish and the usage).
 * Prints its base URL once it listens; runs until it is stopped.
 *
 *   node --import tsx bench/support/fakeOpenAiProcess.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { makeFakeOpenAi } from "../../test/support/FakeOpenAi.ts"

const text = process.env["BENCH_ANSWER"] ?? ""
const completion = text.split(/\s+/).filter((word) => word !== "").length

Effect.gen(function*() {
  const fake = yield* makeFakeOpenAi({ fallback: () => ({ text, usage: { prompt: 5, completion } }) })
  yield* Console.log(fake.url)
  return yield* Effect.never
}).pipe(Effect.scoped, NodeRuntime.runMain)
