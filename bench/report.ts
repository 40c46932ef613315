// bench/RESULTS.md: one section per benchmark between `<!-- bench:begin NAME -->` and `<!-- bench:end NAME -->`.
// A run rewrites the generated part of the sections of the benchmarks it ran and carries every other section
// over from the previous file unchanged, so `npm run bench -- page` never loses the ingest figures. Inside a
// section, everything after its `<!-- bench:notes NAME … -->` line (the hand-written interpretation) is kept
// too, as is everything after the file's NOTES_MARKER (general notes).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { HERE, type Section } from "./common.js";
import { fmt } from "./stats.js";

/** Order of the sections in the file (not the order they run in). */
export const SECTION_ORDER = [
  "ingest",
  "bulk",
  "kpi",
  "collector",
  "servicenow",
  "subscribers",
  "page",
  "auth",
  "alerts",
  "reporting",
] as const;
export type BenchName = (typeof SECTION_ORDER)[number];

export const NOTES_MARKER = "<!-- Everything below this line is kept when the bench rewrites this file. -->";
const RESULTS = path.join(HERE, "RESULTS.md");

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  postgres: string;
  os: string;
}

export function machine(postgres: string): Machine {
  const cpuinfo = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : "";
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  return {
    cpu: model,
    cores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    postgres,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

export interface RunInfo {
  date: string;
  command: string;
  nodeEnv: string;
  machine: Machine;
  /** "embedded from npm, …; fsync=on, …" */
  postgresNote: string;
}

interface OldSection {
  generated: string;
  notes: string | null;
  summary: { date: string; summary: string } | null;
}

function parseOld(text: string): { sections: Map<string, OldSection>; general: string | null } {
  const sections = new Map<string, OldSection>();
  for (const m of text.matchAll(/<!-- bench:begin ([a-z]+) -->\n([\s\S]*?)<!-- bench:end \1 -->/g)) {
    const name = m[1]!;
    const inner = m[2]!;
    const notesAt = inner.search(new RegExp(`<!-- bench:notes ${name}\\b[^>]*-->`));
    const generated = notesAt >= 0 ? inner.slice(0, notesAt) : inner;
    let notes: string | null = null;
    if (notesAt >= 0) {
      const rest = inner.slice(notesAt);
      notes = rest.slice(rest.indexOf("-->") + 3).trim();
    }
    const s = new RegExp(`<!-- bench:summary ${name} (\\S+) \\| (.*?) -->`).exec(inner);
    sections.set(name, {
      generated: generated.trim(),
      notes,
      summary: s ? { date: s[1]!, summary: s[2]! } : null,
    });
  }
  const at = text.indexOf(NOTES_MARKER);
  return { sections, general: at >= 0 ? text.slice(at + NOTES_MARKER.length).trim() : null };
}

/** The anchor GitHub gives a heading. */
function anchor(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

function compactMachine(run: RunInfo): string {
  const m = run.machine;
  return `${m.cpu}, ${m.cores} cores, ${fmt(m.memoryGiB)} GiB, ${m.os}; Node.js ${m.node}; PostgreSQL ${m.postgres} (${run.postgresNote})`;
}

/** Rewrites bench/RESULTS.md with `fresh` sections; returns the text of the fresh sections (for stdout). */
export function writeResults(fresh: Section[], run: RunInfo): string {
  const previous = fs.existsSync(RESULTS) ? fs.readFileSync(RESULTS, "utf8") : "";
  const old = parseOld(previous);
  const byName = new Map(fresh.map((s) => [s.name, s]));
  const blocks: string[] = [];
  const index: string[] = [];
  const printed: string[] = [];
  for (const name of SECTION_ORDER) {
    const s = byName.get(name);
    const o = old.sections.get(name);
    if (!s && !o) continue;
    let generated: string;
    let date: string;
    let summary: string;
    if (s) {
      date = run.date;
      summary = s.summary.replace(/-->/g, "→").replace(/\n/g, " ");
      const loads = s.loads.filter(Number.isFinite);
      generated = `## ${s.title}

<!-- bench:summary ${name} ${date} | ${summary} -->
Run on ${date} by \`${run.command}\` (NODE_ENV=${run.nodeEnv}); this benchmark took ${fmt(s.seconds / 60)} min. Load average while it
ran: ${loads.length ? `${fmt(Math.min(...loads), 2)} – ${fmt(Math.max(...loads), 2)}` : "–"} (other processes share the machine when it is above ~0.5).
Machine: ${compactMachine(run)}.

${s.body.trim()}`;
      printed.push(generated);
    } else {
      generated = o!.generated;
      date = o!.summary?.date ?? "?";
      summary = o!.summary?.summary ?? "(no summary)";
    }
    const title = /^## (.+)$/m.exec(generated)?.[1] ?? name;
    index.push(`| [${name}](#${anchor(title)}) | ${date}${s ? "" : " (kept)"} | ${summary} |`);
    const notes = o?.notes ?? "### Interpretation\n\n(to be written)";
    blocks.push(
      `<!-- bench:begin ${name} -->\n${generated}\n\n<!-- bench:notes ${name} (hand-written; kept when the bench rewrites this section) -->\n\n${notes}\n<!-- bench:end ${name} -->`,
    );
  }
  const m = run.machine;
  const md = `# Uplift benchmark results

Written by \`npm run bench\` (\`node --import tsx bench/run.ts\`); \`npm run bench -- <name…>\` runs some of the benchmarks
(${SECTION_ORDER.join(", ")}; no names = all). **How this file is kept:** it is one file with one section per benchmark.
A run regenerates the sections of the benchmarks it ran and copies the other sections unchanged from the previous file
(marked "kept" below), so every section states its own date, command, load average and machine. The hand-written
interpretation at the end of each section, and the general notes at the end of the file, survive every run. One file
rather than \`bench/results/<name>.md\` files: the figures stay readable, diffable and linkable in one place, and
nothing has to stitch files together.

| benchmark | run on | headline |
| --- | --- | --- |
${index.join("\n")}

## Machine of the latest run (${run.date}, \`${run.command}\`)

| | |
| --- | --- |
| CPU | ${m.cpu} |
| cores | ${m.cores} |
| memory | ${fmt(m.memoryGiB)} GiB |
| OS | ${m.os} |
| Node.js | ${m.node} |
| PostgreSQL | ${m.postgres} (${run.postgresNote}) |

${blocks.join("\n\n")}

${NOTES_MARKER}

${old.general ?? "## General notes\n\n(to be written)"}
`;
  fs.writeFileSync(RESULTS, md);
  return printed.join("\n\n");
}
