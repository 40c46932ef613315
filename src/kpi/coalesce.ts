/**
 * Coalesces the change-stamp reads of concurrent requests into one statement, without ever answering a
 * request from a read that began before it arrived: a caller joins the batch that has not been sent yet,
 * and a batch is sent only when the previous one has come back. So each caller's statement starts after
 * its call, and its snapshot holds every change committed before the request (no stale stamp), while N
 * requests arriving together cost one round trip instead of N. A lone request is sent at once.
 */
export class Coalescer<K, V> {
  private waiting: { keys: Set<K>; callers: number; done: Promise<Map<K, V>>; send: () => void } | null =
    null;
  private inFlight = false;

  constructor(private readonly fetch: (keys: K[]) => Promise<Map<K, V>>) {}

  load(keys: readonly K[]): Promise<Map<K, V>> {
    if (!keys.length) return Promise.resolve(new Map());
    let batch = this.waiting;
    const fresh = !batch;
    if (!batch) {
      let send!: () => void;
      const keySet = new Set<K>();
      const done = new Promise<Map<K, V>>((resolve, reject) => {
        send = () => this.fetch([...keySet]).then(resolve, reject);
      });
      batch = this.waiting = { keys: keySet, callers: 0, done, send };
    }
    for (const k of keys) batch.keys.add(k);
    batch.callers++;
    if (fresh && !this.inFlight) this.dispatch();
    const shared = batch;
    const mine = [...keys];
    // A failed batch must not fail the other callers for one caller's keys: with company, each retries alone.
    return shared.done.catch((e) => (shared.callers > 1 ? this.fetch(mine) : Promise.reject(e)));
  }

  private dispatch() {
    const batch = this.waiting;
    if (!batch) return;
    this.waiting = null;
    this.inFlight = true;
    batch.send();
    batch.done
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = false;
        this.dispatch();
      });
  }
}
