// Documents that hit each limit by a known margin (defaults: 102,400 bytes, 10,000 tokens, 100 aliases,
// cost 1,000). Counts are by construction, so the expected figures do not depend on the implementation.

/**
 * A valid document of exactly `total` tokens: operations `query Ai { __typename }` of 5 tokens each, the
 * last with one more `__typename` per token left over. (Not one field repeated thousands of times:
 * graphql-js aborts validating that on its own.) Run it with operationName "A0".
 */
export function tokens(total: number): string {
  const ops = Math.floor(total / 5);
  const extra = total % 5;
  return Array.from(
    { length: ops },
    (_, i) => `query A${i} { __typename${i === ops - 1 ? " __typename".repeat(extra) : ""} }`,
  ).join("\n");
}

/** `n` aliased `metrics` fields. */
export function aliases(n: number): string {
  return `{ ${Array.from({ length: n }, (_, i) => `a${i}: metrics { key }`).join(" ")} }`;
}

/**
 * `n` aliased `series` fields per KPI of every project: projects (10) × kpis (10) × n series = 100·n
 * figure computations (the cost units of docs/limits.md), with no KPI figure field selected.
 */
export function seriesPerKpi(n: number): string {
  const series = Array.from({ length: n }, (_, i) => `s${i}: series(bucket: DAY) { value }`).join(" ");
  return `{ projects { kpis { ${series} } } }`;
}

/** A valid document padded by a comment to exactly `bytes` UTF-8 bytes, with `char` as padding. */
export function padded(bytes: number, char = "x"): string {
  const head = "{ metrics { key } }\n#";
  const unit = Buffer.byteLength(char);
  const free = bytes - Buffer.byteLength(head);
  return head + char.repeat(Math.floor(free / unit)) + "x".repeat(free % unit);
}
