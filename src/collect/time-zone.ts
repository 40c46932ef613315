// Wall-clock times in a time zone, for query values that a vendor reads in its integration user's zone
// (ServiceNow encoded queries, JQL). Intl only, no dependency. The hard part is daylight saving time: a
// wall-clock time can name two instants (the repeated hour) or none (the skipped one).

/** Whether Intl knows the IANA time zone name. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(tz, f);
  }
  return f;
}

const floorToSecond = (ms: number) => Math.floor(ms / 1000) * 1000;

/** The wall-clock time of an instant in a time zone, as `YYYY-MM-DD HH:mm:ss` (fractions of a second dropped). */
export function wallTime(ms: number, tz: string): string {
  const p: Record<string, string> = {};
  for (const part of formatter(tz).formatToParts(new Date(ms))) p[part.type] = part.value;
  return `${p.year!.padStart(4, "0")}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** A wall-clock `YYYY-MM-DD HH:mm:ss` read as if it were UTC, in epoch ms. */
function wallAsUtc(w: string): number {
  return Date.parse(`${w.replace(" ", "T")}Z`);
}

/**
 * Every instant whose wall-clock time in `tz` is `w`: one as a rule, two in the hour a daylight-saving
 * change repeats, none in the hour it skips. `near` is an instant within a day of `w`.
 */
export function instantsOfWallTime(w: string, tz: string, near: number): number[] {
  const asUtc = wallAsUtc(w);
  const offsets = new Set<number>();
  for (const t of [near - 86_400_000, near, near + 86_400_000]) {
    offsets.add(wallAsUtc(wallTime(t, tz)) - floorToSecond(t));
  }
  const found = [...offsets].map((o) => asUtc - o).filter((i) => wallTime(i, tz) === w);
  return [...new Set(found)].sort((a, b) => a - b);
}

export interface QueryDateTime {
  /** The value to put in the encoded query: wall-clock time in the time zone. */
  text: string;
  /** The earliest and latest instants the server may read `text` as (equal unless in a repeated hour). */
  earliest: Date;
  latest: Date;
}

/**
 * The encoded-query value for "on or after `instant`" (or for an upper bound, "before `instant`") in `tz`,
 * chosen so that however ServiceNow resolves an ambiguous wall-clock time (the hour repeated when daylight
 * saving time ends), it never means a later instant than `instant`: a lower bound may then re-read a little
 * (harmless: externalId upserts), but never skips.
 */
export function queryDateTime(instant: Date, tz: string): QueryDateTime {
  const target = floorToSecond(instant.getTime());
  let t = target;
  for (let i = 0; i < 8; i++) {
    const text = wallTime(t, tz);
    const all = instantsOfWallTime(text, tz, t);
    const latest = all.at(-1) ?? t;
    if (latest <= target) return { text, earliest: new Date(all[0] ?? t), latest: new Date(latest) };
    t -= latest - target;
  }
  // Unreachable with real time zones (one step back always leaves the repeated hour); stay safe anyway.
  const fallback = target - 86_400_000;
  return { text: wallTime(fallback, tz), earliest: new Date(fallback), latest: new Date(fallback) };
}
