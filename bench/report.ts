// bench/RESULTS.md: one section per benchmark between `<!-- bench:begin NAME -->` and `<!-- bench:end NAME -->`.
// A run rewrites the generated part of the sections of the benchmarks it ran and carries every other section
// over from the previous file unchanged, so `npm run bench -- page` never loses the ingest figures. Inside a
// section, everything after its `<!-- bench:notes NAME … -->` line (the hand-written interpretation) is kept
// too, as is everything after the file's NOTES_MARKER (general notes). "Nothing got slower": a regenerated
// section lists the headlines of the runs before it ("Earlier runs", newest first, at most EARLIER_KEPT), and
// the top table shows the previous run's headline beside the new one.
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
  "scale",
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

export interface Headline {
  date: string;
  summary: string;
}

/** How many earlier headlines a section keeps. */
export const EARLIER_KEPT = 10;

interface OldSection {
  generated: string;
  notes: string | null;
  summary: Headline | null;
  /** Headlines of the runs before the one the section shows, newest first. */
  earlier: Headline[];
}

/** The "Earlier runs" block of a section: a marker line, then one `- DATE: headline` line per run. */
function earlierBlock(name: string, earlier: Headline[]): string {
  if (!earlier.length) return "";
  return `\n\nEarlier runs of this section (newest first; their headlines as written then):\n<!-- bench:earlier ${name} -->\n${earlier
    .map((h) => `- ${h.date}: ${h.summary}`)
    .join("\n")}`;
}

function parseEarlier(name: string, generated: string): Headline[] {
  const at = generated.indexOf(`<!-- bench:earlier ${name} -->`);
  if (at < 0) return [];
  const out: Headline[] = [];
  for (const line of generated.slice(at).split("\n").slice(1)) {
    const m = /^- (\S+): (.*)$/.exec(line);
    if (!m) break;
    out.push({ date: m[1]!, summary: m[2]! });
  }
  return out;
}

export function parseOld(text: string): { sections: Map<string, OldSection>; general: string | null } {
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
      earlier: parseEarlier(name, generated),
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
  const { markdown, printed } = renderResults(previous, fresh, run);
  fs.writeFileSync(RESULTS, markdown);
  return printed;
}

/** The new RESULTS.md from the previous one and the fresh sections (no I/O). */
export function renderResults(
  previous: string,
  fresh: Section[],
  run: RunInfo,
): { markdown: string; printed: string } {
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
    let earlier: Headline[];
    if (s) {
      // The run this one replaces goes to the top of the list of earlier runs.
      earlier = [...(o?.summary ? [o.summary] : []), ...(o?.earlier ?? [])].slice(0, EARLIER_KEPT);
      date = run.date;
      summary = s.summary.replace(/-->/g, "→").replace(/\n/g, " ");
      const loads = s.loads.filter(Number.isFinite);
      generated = `## ${s.title}

<!-- bench:summary ${name} ${date} | ${summary} -->
Run on ${date} by \`${run.command}\` (NODE_ENV=${run.nodeEnv}); this benchmark took ${fmt(s.seconds / 60)} min. Load average while it
ran: ${loads.length ? `${fmt(Math.min(...loads), 2)} – ${fmt(Math.max(...loads), 2)}` : "–"} (other processes share the machine when it is above ~0.5).
Machine: ${compactMachine(run)}.

${s.body.trim()}${earlierBlock(name, earlier)}`;
      printed.push(generated);
    } else {
      generated = o!.generated;
      date = o!.summary?.date ?? "?";
      summary = o!.summary?.summary ?? "(no summary)";
      earlier = o!.earlier;
    }
    const title = /^## (.+)$/m.exec(generated)?.[1] ?? name;
    const before = earlier[0] ? `${earlier[0].date}: ${earlier[0].summary}` : "–";
    index.push(`| [${name}](#${anchor(title)}) | ${date}${s ? "" : " (kept)"} | ${summary} | ${before} |`);
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
nothing has to stitch files together. So that nothing gets slower unnoticed, a regenerated section keeps the headlines
of its earlier runs in a list at its end, and the table below shows the previous headline beside the new one.

| benchmark | run on | headline | previous run of the section: date, headline |
| --- | --- | --- | --- |
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
  return { markdown: md, printed: printed.join("\n\n") };
}
