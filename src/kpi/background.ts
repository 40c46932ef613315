import { AsyncLocalStorage } from "node:async_hooks";

// Work no one is waiting on (the reporting refresher) sends each SQL shape as one statement: splitting a
// cold KPI's phases over two backends (phase-aggregates.ts) shortens a request's wait, but the same split
// in background work would take both cores from the requests being served (bench/RESULTS.md, kpi: warm
// MEDIAN at 10 connections fell from 2,994 to 866 req/s while the refresher recomputed that KPI).

const background = new AsyncLocalStorage<true>();

/** Runs `fn` as background work: the KPI loaders it reaches keep to one backend per shape. */
export function inBackground<T>(fn: () => Promise<T>): Promise<T> {
  return background.run(true, fn);
}

export function isBackground(): boolean {
  return background.getStore() === true;
}
