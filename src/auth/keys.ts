import { createHash, randomInt, timingSafeEqual } from "node:crypto";

// API key secrets: `upl_` and 43 characters of [A-Za-z0-9] (about 256 bits). A secret this random needs
// no slow password hash: SHA-256 is enough to make the stored hash useless to whoever reads the table.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const SECRET_PREFIX = "upl_";
export const SECRET_LENGTH = 43;
export const SECRET_PATTERN = /^upl_[A-Za-z0-9]{40,}$/;

export function newSecret(): string {
  let s = SECRET_PREFIX;
  for (let i = 0; i < SECRET_LENGTH; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

/** What the database stores in place of the secret (hex SHA-256). */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** Constant-time comparison (of digests, so that lengths never differ and leak nothing). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b);
}

/** The credential of an `Authorization: Bearer <secret>` header, or null. */
export function bearer(header: unknown): string | null {
  if (typeof header !== "string") return null;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? m[1] : null;
}
