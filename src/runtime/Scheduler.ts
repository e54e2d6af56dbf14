/**
 * The scheduler of the entry points. Effect's default runs fibers in microtask batches and
 * returns to the event loop only every 2,048 batches, so under load the I/O phase — new
 * webhook requests, answers of the model and the Bot API — waits behind dialog work, and
 * acknowledgements queue up. Here every batch is a `setImmediate`: the event loop polls I/O
 * between any two batches, which keeps acknowledgements quick while dialogs run
 * (bench/README.md has the figures: ack p99 from seconds down to a few hundred ms in W1).
 */
import { Scheduler } from "effect"

export const ioFairScheduler: Scheduler.Scheduler = Scheduler.makeBatched((runBatch) => {
  setImmediate(runBatch)
})
