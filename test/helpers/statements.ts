import pg from "pg";
import { logContext } from "../../src/log.js";

/**
 * The SQL statements sent while serving requests during `fn` (any pooled connection, TypeORM's and the
 * engine's alike; background work such as the reporting refresher runs outside any request's context).
 */
export async function statementsSentBy(fn: () => Promise<unknown>): Promise<string[]> {
  const proto = pg.Client.prototype as any;
  const original = proto.query;
  const sent: string[] = [];
  proto.query = function (this: unknown, q: any, ...rest: unknown[]) {
    if (logContext.getStore()?.requestId) sent.push(typeof q === "string" ? q : String(q?.text ?? ""));
    return original.call(this, q, ...rest);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
  return sent;
}
