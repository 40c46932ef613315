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
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return null;
  if (day > daysInMonth(year, month)) return null;
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
  // Arithmetic rather than Date setters: this runs once per collected record (two Date objects less each).
  const date = new Date(
    daysFromCivil(year, month, day) * 86_400_000 +
      ((hour * 60 + minute - offsetMin) * 60 + second) * 1000 +
      ms,
  );
  return Number.isNaN(date.getTime()) ? null : date;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}
