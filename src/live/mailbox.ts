/**
 * A subscriber's queue that keeps only the newest event per key: a slow consumer of KPI updates holds at
 * most one pending update per KPI, however many changes arrive, so memory stays bounded.
 *
 * Two ways to consume it: pull (`next()`, an async iterator), or push (`push(deliver)`): each event goes
 * straight to `deliver`, synchronously inside `put`, while the consumer is ready; after each one the
 * consumer calls `ready()` when it can take another (its socket took the bytes), and meanwhile events wait
 * here, newest per key. Push spares a fan-out to 10,000 subscribers a promise chain per subscriber.
 */
export class Mailbox<T> implements AsyncIterableIterator<T> {
  private readonly pending = new Map<string, T>();
  private waiting: ((r: IteratorResult<T>) => void) | null = null;
  private closed = false;
  private deliver: ((value: T) => void) | null = null;
  private idle = false;
  private closedWaiter: (() => void) | null = null;

  constructor(private readonly onClose: () => void) {}

  put(key: string, value: T): void {
    if (this.closed) return;
    if (this.deliver) {
      if (this.idle) {
        this.idle = false;
        this.deliver(value);
        return;
      }
    } else if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w({ value, done: false });
      return;
    }
    this.pending.delete(key); // re-insert: the newest goes to the back of the line
    this.pending.set(key, value);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get size(): number {
    return this.pending.size;
  }

  /** Switches to push mode (before any `next()`): `deliver` gets the first event at once if one waits. */
  push(deliver: (value: T) => void): void {
    this.deliver = deliver;
    this.ready();
  }

  /** Push mode: the consumer can take the next event. */
  ready(): void {
    if (this.closed || !this.deliver) return;
    const first = this.pending.entries().next();
    if (first.done) {
      this.idle = true;
      return;
    }
    this.pending.delete(first.value[0]);
    this.deliver(first.value[1]);
  }

  /** Resolves when the mailbox closes (push mode's stand-in for the end of the iteration). */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.closedWaiter = resolve;
    });
  }

  next(): Promise<IteratorResult<T>> {
    const first = this.pending.entries().next();
    if (!first.done) {
      this.pending.delete(first.value[0]);
      return Promise.resolve({ value: first.value[1], done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.idle = false;
    this.deliver = null;
    this.pending.clear();
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
    this.closedWaiter?.();
    this.closedWaiter = null;
    this.onClose();
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
