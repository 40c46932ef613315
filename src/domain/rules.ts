// Names, limits and formats of the contract ("Names, order and formats", "Observations"), in one place
// for the API, the configuration file and the collectors.
export const SLUG_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const METRIC_KEY_PATTERN = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export const MAX_BATCH = 10_000;
export const MAX_ABS_VALUE = 1e15;
export const MAX_WEIGHT = 1e9;
export const MAX_DIMENSIONS = 32;
export const MAX_DIMENSION_KEY = 64;
export const MAX_DIMENSION_VALUE = 1024;
export const MAX_EXTERNAL_ID = 512;
/** observedAt may lie at most this far in the future (clock skew of sources). */
export const FUTURE_TOLERANCE_MS = 24 * 3600 * 1000;
export const MAX_TEXT = 10_000;

const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?([Zz]|[+-]\d{2}(?::?\d{2})?)$/;

/**
 * Parses an ISO-8601 date-time that carries an offset (`Z`, `+01:00`, `+0100`, `+01`); null otherwise.
 * Impossible calendar dates (Feb 30) are refused rather than rolled over.
 */
export function parseDateTime(text: string): Date | null {
  const m = ISO_WITH_OFFSET.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s = "00", frac = "", off] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return null;
  const daysInMonth = utc(Number(y), month, 0).getUTCDate();
  if (day > daysInMonth) return null;
  let offsetMin = 0;
  if (off !== "Z" && off !== "z") {
    const sign = off[0] === "-" ? -1 : 1;
    const digits = off.slice(1).replace(":", "");
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return null;
    offsetMin = sign * (oh * 60 + om);
  }
  const ms = frac ? Math.floor(Number(`0${frac}`) * 1000) : 0;
  const date = utc(Number(y), month - 1, day, Number(h), Number(mi), Number(s), ms);
  date.setTime(date.getTime() - offsetMin * 60_000);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Date.UTC without its quirk of reading years 0–99 as 1900–1999 (setUTCFullYear takes the year as given). */
function utc(year: number, month: number, day: number, h = 0, mi = 0, s = 0, ms = 0): Date {
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  d.setUTCHours(h, mi, s, ms);
  return d;
}
