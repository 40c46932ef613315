/** What a commit touched: observations of project × metric pairs, KPI settings, projects, or metrics. */
export interface ChangeScope {
  pairs?: { projectId: string; metricId: string }[];
  kpiIds?: string[];
  projectIds?: string[];
  metricIds?: string[];
}

// What travels over PostgreSQL NOTIFY. Changes are announced inside the transaction that makes them
// (delivered on commit, to every process that LISTENs), so a subscriber on any replica hears of a change
// made on any other, and never of one that rolled back.

export const CHANGES_CHANNEL = "uplift_changes";
export const RUNS_CHANNEL = "uplift_runs";
/** Alert events, as fired (src/governance/alerts). */
export const ALERTS_CHANNEL = "uplift_alerts";

/** NOTIFY payloads must stay under 8,000 bytes: scopes are sent in chunks of this many ids. */
const CHUNK = 200;

interface Wire {
  p?: [string, string][];
  k?: string[];
  r?: string[];
  m?: string[];
}

export function encodeScope(scope: ChangeScope): string[] {
  const out: string[] = [];
  const pairs = (scope.pairs ?? []).map((x): [string, string] => [String(x.projectId), String(x.metricId)]);
  for (let i = 0; i < pairs.length; i += CHUNK)
    out.push(JSON.stringify({ p: pairs.slice(i, i + CHUNK) } satisfies Wire));
  const lists: [keyof Wire, string[] | undefined][] = [
    ["k", scope.kpiIds],
    ["r", scope.projectIds],
    ["m", scope.metricIds],
  ];
  for (const [key, ids] of lists) {
    const all = (ids ?? []).map(String);
    for (let i = 0; i < all.length; i += CHUNK) out.push(JSON.stringify({ [key]: all.slice(i, i + CHUNK) }));
  }
  return out;
}

export function decodeScope(payload: string): ChangeScope | null {
  try {
    const w = JSON.parse(payload) as Wire;
    return {
      pairs: (w.p ?? []).map(([projectId, metricId]) => ({ projectId, metricId })),
      kpiIds: w.k ?? [],
      projectIds: w.r ?? [],
      metricIds: w.m ?? [],
    };
  } catch {
    return null;
  }
}

export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

/** Announces a change; inside a transaction it is delivered when (and only if) the transaction commits. */
export async function notifyChanges(db: Queryable, scope: ChangeScope): Promise<void> {
  for (const payload of encodeScope(scope))
    await db.query(`SELECT pg_notify($1, $2)`, [CHANGES_CHANNEL, payload]);
}
