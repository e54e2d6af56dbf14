/**
 * The scheduler of the entry points.
 *
 * Effect's default runs fibers in microtask batches and returns to the event loop only every
 * 2,048 batches, so under load the I/O phase — new webhook requests, answers of the model and
 * the Bot API, replies of the SQLite worker — waits behind dialog work, and acknowledgements
 * queue up. This one runs fiber tasks for at most one time slice (2 ms by default), then hands
 * the rest to a `setImmediate`, so the event loop polls I/O at least every slice however much
 * work is queued (bench/README.md has the figures).
 */
import { FiberRef, type Scheduler } from "effect"

export class TimeSlicedScheduler implements Scheduler.Scheduler {
  private queue: Array<Scheduler.Task> = []
  private head = 0
  private scheduled = false

  constructor(readonly sliceMs: number) {}

  shouldYield(fiber: Parameters<Scheduler.Scheduler["shouldYield"]>[0]): number | false {
    return fiber.currentOpCount > fiber.getFiberRef(FiberRef.currentMaxOpsBeforeYield)
      ? fiber.getFiberRef(FiberRef.currentSchedulingPriority)
      : false
  }

  scheduleTask(task: Scheduler.Task, _priority: number): void {
    this.queue.push(task)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.run)
    }
  }

  private readonly run = (): void => {
    const deadline = performance.now() + this.sliceMs
    let ran = 0
    while (this.head < this.queue.length) {
      const task = this.queue[this.head]!
      this.queue[this.head++] = noop
      task()
      // Checking the clock costs little next to a task, but not nothing: every 8 tasks.
      if ((++ran & 7) === 0 && performance.now() >= deadline) break
    }
    if (this.head >= this.queue.length) {
      this.queue = []
      this.head = 0
      this.scheduled = false
    } else {
      if (this.head > 4096) {
        this.queue = this.queue.slice(this.head)
        this.head = 0
      }
      setImmediate(this.run)
    }
  }
}

const noop: Scheduler.Task = () => {}

export const ioFairScheduler: Scheduler.Scheduler = new TimeSlicedScheduler(2)
