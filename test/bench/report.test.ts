// bench/report.ts keeps the previous figures beside the new: a regenerated section lists the headlines of the
// runs before it, and the top table shows the previous headline beside the new one. Fixture: an old RESULTS.md.
import { describe, expect, it } from "vitest";
import type { Section } from "../../bench/common.js";
import { EARLIER_KEPT, NOTES_MARKER, parseOld, type RunInfo, renderResults } from "../../bench/report.js";

const OLD = `# Uplift benchmark results

| benchmark | run on | headline |
| --- | --- | --- |
| [ingest](#ingest) | 2026-11-29 | old ingest headline |
| [kpi](#kpi) | 2026-11-20 | old kpi headline |

<!-- bench:begin ingest -->
## Ingest

<!-- bench:summary ingest 2026-11-29 | recordObservations 83.5 % of COPY (target ≥ 50 %: met) -->
Run on 2026-11-29 by \`npm run bench\`.

| path | rows/s |
| --- | ---: |
| COPY | 84,659 |

Earlier runs of this section (newest first; their headlines as written then):
<!-- bench:earlier ingest -->
- 2026-11-20: recordObservations 72.0 % of COPY (target ≥ 50 %: met)

<!-- bench:notes ingest (hand-written; kept when the bench rewrites this section) -->

Ingest notes written by hand.
<!-- bench:end ingest -->

<!-- bench:begin kpi -->
## KPI figures

<!-- bench:summary kpi 2026-11-20 | GraphQL cold / raw SQL: MEAN 0.82× -->
Run on 2026-11-20.

<!-- bench:notes kpi (hand-written; kept when the bench rewrites this section) -->

KPI notes written by hand.
<!-- bench:end kpi -->

${NOTES_MARKER}

## General notes

Kept.
`;

const RUN: RunInfo = {
  date: "2026-12-05",
  command: "npm run bench -- ingest",
  nodeEnv: "production",
  machine: { cpu: "test CPU", cores: 2, memoryGiB: 4, node: "v20", postgres: "18.4", os: "Linux" },
  postgresNote: "embedded",
};

function ingest(summary: string): Section {
  return {
    name: "ingest",
    title: "Ingest",
    summary,
    body: "| path | rows/s |\n| --- | ---: |\n| COPY | 90,000 |",
    loads: [1],
    seconds: 60,
  };
}

const row = (md: string, name: string) => md.split("\n").find((l) => l.startsWith(`| [${name}]`))!;

describe("bench/report.ts: earlier runs", () => {
  it("puts the replaced headline first in the section's earlier runs, and beside the new one in the table", () => {
    const { markdown } = renderResults(OLD, [ingest("recordObservations 90.0 % of COPY")], RUN);
    const s = parseOld(markdown).sections.get("ingest")!;
    expect(s.summary).toEqual({ date: "2026-12-05", summary: "recordObservations 90.0 % of COPY" });
    expect(s.earlier).toEqual([
      { date: "2026-11-29", summary: "recordObservations 83.5 % of COPY (target ≥ 50 %: met)" },
      { date: "2026-11-20", summary: "recordObservations 72.0 % of COPY (target ≥ 50 %: met)" },
    ]);
    expect(s.notes).toBe("Ingest notes written by hand.");
    expect(row(markdown, "ingest")).toBe(
      "| [ingest](#ingest) | 2026-12-05 | recordObservations 90.0 % of COPY | 2026-11-29: recordObservations 83.5 % of COPY (target ≥ 50 %: met) |",
    );
    // The new figures replace the old table; the old ones survive only as headlines.
    expect(markdown).toContain("| COPY | 90,000 |");
    expect(markdown).not.toContain("| COPY | 84,659 |");
  });

  it("keeps a section that did not run as it was, with its own previous headline (none here)", () => {
    const { markdown } = renderResults(OLD, [ingest("new")], RUN);
    const kpi = parseOld(markdown).sections.get("kpi")!;
    expect(kpi.summary).toEqual({ date: "2026-11-20", summary: "GraphQL cold / raw SQL: MEAN 0.82×" });
    expect(kpi.earlier).toEqual([]);
    expect(kpi.notes).toBe("KPI notes written by hand.");
    expect(row(markdown, "kpi")).toBe(
      "| [kpi](#kpi-figures) | 2026-11-20 (kept) | GraphQL cold / raw SQL: MEAN 0.82× | – |",
    );
    expect(parseOld(markdown).general).toBe("## General notes\n\nKept.");
  });

  it("accumulates across runs, newest first, and keeps at most EARLIER_KEPT", () => {
    let md = OLD;
    for (let i = 1; i <= EARLIER_KEPT + 3; i++) {
      md = renderResults(md, [ingest(`run ${i}`)], {
        ...RUN,
        date: `2026-12-${String(i).padStart(2, "0")}`,
      }).markdown;
    }
    const s = parseOld(md).sections.get("ingest")!;
    expect(s.summary?.summary).toBe(`run ${EARLIER_KEPT + 3}`);
    expect(s.earlier).toHaveLength(EARLIER_KEPT);
    expect(s.earlier.map((h) => h.summary)).toEqual(
      Array.from({ length: EARLIER_KEPT }, (_, i) => `run ${EARLIER_KEPT + 2 - i}`),
    );
    // A section with no earlier run (a first run) has no list.
    const first = renderResults("", [ingest("first")], RUN).markdown;
    expect(first).not.toContain("bench:earlier");
    expect(row(first, "ingest")).toMatch(/\| first \| – \|$/);
  });
});
