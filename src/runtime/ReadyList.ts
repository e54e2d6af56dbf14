/**
 * A first-in, first-out list of the chats whose next job may start. An array read from a head
 * index, compacted once the consumed half passes 1,024 entries: no allocation per entry, no
 * effect per operation. `bench/chatqueue.ts` compares it with effect's `MutableQueue` and
 * `Queue` (the figures are in its header).
 */
export class ReadyList<A> {
  private items: Array<A> = []
  private head = 0

  /** Entries waiting. */
  get size(): number {
    return this.items.length - this.head
  }

  push(item: A): void {
    this.items.push(item)
  }

  /** The oldest entry, removed; `undefined` when empty. */
  take(): A | undefined {
    if (this.head >= this.items.length) return undefined
    const item = this.items[this.head++]
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    return item
  }
}
