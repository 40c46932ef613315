import { AsyncLocalStorage } from "node:async_hooks";

// Work no one is waiting on (the reporting refresher) must not slow down the requests being served:
// - each SQL shape is one statement: splitting a cold KPI's phases over two backends (phase-aggregates.ts)
//   shortens a request's wait, but the same split in background work would take both cores from the
//   requests (bench/RESULTS.md, kpi: warm MEDIAN at 10 connections fell from 2,994 to 866 req/s while the
//   refresher recomputed that KPI);
// - its series queries of large KPIs run one at a time (a `Lane` of the engine): a drain of a few large KPIs would
//   otherwise send a dozen full scans at once and hold the pool's connections and both cores;
// - a request never waits for a computation that background work started and has not finished
//   (`joinable`): it computes its own, as it would have without the refresher (bench/RESULTS.md, page: a
//   cold MEAN `confidence` took 656 ms instead of 83 ms, waiting for the refresher's batch of three KPIs).

const background = new AsyncLocalStorage<true>();

/** Runs `fn` as background work: the KPI loaders it reaches keep to one backend per shape. */
export function inBackground<T>(fn: () => Promise<T>): Promise<T> {
  return background.run(true, fn);
}

export function isBackground(): boolean {
  return background.getStore() === true;
}

/** A computation shared by concurrent callers, marked with who started it. */
export interface Shared<T> {
  promise: Promise<T>;
  background: boolean;
  settled: boolean;
}

export function share<T>(start: () => Promise<T>): Shared<T> {
  const s: Shared<T> = { promise: start(), background: isBackground(), settled: false };
  s.promise.then(
    () => {
      s.settled = true;
    },
    () => undefined,
  );
  return s;
}

/** Whether the caller may wait for `s`: it is done, or started by a request, or the caller is background work too. */
export function joinable<T>(s: Shared<T> | undefined): s is Shared<T> {
  return s !== undefined && (s.settled || !s.background || isBackground());
}

/** Runs background tasks one at a time, in order of arrival; requests do not go through it. */
export class Lane {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
