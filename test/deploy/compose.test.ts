// Deployment files: docker-compose.yml (dclint + shape), Dockerfile (stages, user, health, copied files).
// No Docker engine runs here, so these are static checks of what `docker compose up` would do.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { DCLinter } from "dclint";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";

const root = fileURLToPath(new URL("../..", import.meta.url));
const composePath = path.join(root, "docker-compose.yml");
const dockerfilePath = path.join(root, "Dockerfile");

// ---------------------------------------------------------------- helpers

type Dict = Record<string, unknown>;

function asDict(v: unknown, what: string): Dict {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error(`${what}: expected a mapping`);
  return v as Dict;
}

/** What an operator puts in `.env`: the secrets compose requires (no defaults). */
const SECRETS: Record<string, string> = {
  POSTGRES_PASSWORD: "pg-superuser-secret",
  UPLIFT_DB_PASSWORD: "app-role-secret",
  UPLIFT_ADMIN_TOKEN: "a".repeat(40),
};

/**
 * Compose interpolation: `${X:-d}` / `${X-d}` → X or d, `${X:?msg}` / `${X?msg}` → X or an error (what
 * `docker compose` does when X is unset or empty), `${X}` → X or "", `$$` → `$`.
 */
function interpolate(s: string, vars: Record<string, string> = SECRETS): string {
  return s.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g,
    (m, name?: string, colon?: string, op?: string, arg?: string) => {
      if (m === "$$") return "$";
      const v = vars[name!];
      const missing = v === undefined || (colon === ":" && v === "");
      if (op === "?" && missing) throw new Error(`required variable ${name} is missing a value: ${arg}`);
      if (op === "-" && missing) return arg ?? "";
      return v ?? "";
    },
  );
}

/** A service's environment as a map, whether written as a mapping or a KEY=VALUE list, interpolated. */
function envOf(service: Dict, vars: Record<string, string> = SECRETS): Record<string, string> {
  const env = service.environment;
  const out: Record<string, string> = {};
  if (Array.isArray(env)) {
    for (const item of env) {
      const [k, ...rest] = String(item).split("=");
      out[k] = interpolate(rest.join("="), vars);
    }
  } else if (env) {
    for (const [k, v] of Object.entries(asDict(env, "environment")))
      out[k] = interpolate(String(v ?? ""), vars);
  }
  return out;
}

function loadCompose(): { services: Record<string, Dict>; top: Dict } {
  const doc = parseDocument(readFileSync(composePath, "utf8"), { merge: true });
  expect(doc.errors).toEqual([]);
  const top = asDict(doc.toJS(), "compose file");
  const services: Record<string, Dict> = {};
  for (const [name, svc] of Object.entries(asDict(top.services, "services")))
    services[name] = asDict(svc, name);
  return { services, top };
}

// dclint's .d.ts files use extensionless relative imports, which NodeNext resolution cannot follow
// (the result type would be `any`), so the part of its LintResult used here is spelled out.
interface LintResult {
  errorCount: number;
  warningCount: number;
  messages: { rule: string; type: "error" | "warning"; message: string; line: number; column: number }[];
}

function lint(file: string): LintResult {
  // The CLI's defaults (dclint's DEFAULT_CONFIG): every rule on at its own level.
  const linter = new DCLinter({ rules: {}, quiet: false, debug: false, exclude: [] });
  const results: LintResult[] = linter.lintFiles([file], false);
  expect(results).toHaveLength(1);
  return results[0];
}

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Dockerfile instructions, with comments dropped and `\` continuations joined. */
function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    while (line.endsWith("\\") && i + 1 < lines.length) {
      i++;
      const next = lines[i].trim();
      line = `${line.slice(0, -1).trimEnd()} ${next.startsWith("#") ? "" : next}`.trim();
    }
    const m = /^(\S+)\s*(.*)$/s.exec(line);
    if (m) out.push({ keyword: m[1].toUpperCase(), args: m[2].trim(), line: start + 1 });
  }
  return out;
}

interface Stage {
  from: string;
  name: string | null;
  body: Instruction[];
}

function stagesOf(instructions: Instruction[]): Stage[] {
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const words = ins.args.split(/\s+/).filter((w) => !w.startsWith("--"));
      const as = words.findIndex((w) => w.toUpperCase() === "AS");
      stages.push({ from: words[0], name: as >= 0 ? words[as + 1] : null, body: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].body.push(ins);
    }
  }
  return stages;
}

/** Split a shell-form or JSON exec-form argument list. */
function argList(args: string): string[] {
  if (args.startsWith("[")) return JSON.parse(args) as string[];
  return args.split(/\s+/).filter(Boolean);
}

interface Copy {
  from: string | null;
  sources: string[];
  dest: string;
  line: number;
}

function copiesOf(stage: Stage): Copy[] {
  return stage.body
    .filter((i) => i.keyword === "COPY" || i.keyword === "ADD")
    .map((i) => {
      const words = argList(i.args);
      const flags = words.filter((w) => w.startsWith("--"));
      const rest = words.filter((w) => !w.startsWith("--"));
      const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length) ?? null;
      return { from, sources: rest.slice(0, -1), dest: rest[rest.length - 1], line: i.line };
    });
}

function globRegex(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
      if (glob[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Repository files matching a COPY source (a path, or a `*` pattern in its last segment). */
function contextMatches(source: string): string[] {
  const rel = path.posix.normalize(source.replace(/^\.?\//, ""));
  if (!/[*?[]/.test(rel)) return existsSync(path.join(root, rel)) ? [rel] : [];
  const dir = path.posix.dirname(rel);
  if (/[*?[]/.test(dir)) throw new Error(`pattern in a directory part is not handled: ${source}`);
  const re = globRegex(path.posix.basename(rel));
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs)
    .filter((f) => re.test(f))
    .map((f) => path.posix.join(dir, f));
}

/** Whether .dockerignore keeps `rel` (or one of its parent folders) out of the build context. */
function dockerignored(rel: string): string | null {
  const file = path.join(root, ".dockerignore");
  if (!existsSync(file)) return null;
  const patterns = readFileSync(file, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const parts = rel.split("/");
  let verdict: string | null = null;
  for (const p of patterns) {
    const negate = p.startsWith("!");
    const re = globRegex(path.posix.normalize((negate ? p.slice(1) : p).replace(/^\/+|\/+$/g, "")));
    for (let n = 1; n <= parts.length; n++) {
      if (re.test(parts.slice(0, n).join("/"))) {
        verdict = negate ? null : p;
        break;
      }
    }
  }
  return verdict;
}

// ---------------------------------------------------------------- docker-compose.yml

describe("docker-compose.yml", () => {
  it("passes dclint with its default rules: no errors, no warnings", () => {
    const result = lint(composePath);
    const summary = result.messages.map((m) => `${m.line}:${m.column} ${m.type} ${m.rule}: ${m.message}`);
    expect(summary).toEqual([]);
    expect(result.errorCount).toBe(0);
    expect(result.warningCount).toBe(0);
  });

  it("dclint really reports errors (sanity check on a broken file)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "uplift-dclint-"));
    try {
      const bad = path.join(dir, "docker-compose.yml");
      writeFileSync(bad, 'version: "3"\nservices:\n  web:\n    image: node\n    ports:\n      - 4000:4000\n');
      const result = lint(bad);
      expect(result.errorCount).toBeGreaterThan(0);
      expect(result.messages.map((m) => m.rule)).toContain("service-image-require-explicit-tag");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("has no obsolete version key", () => {
    expect(loadCompose().top).not.toHaveProperty("version");
  });

  it("runs PostgreSQL with a pg_isready healthcheck and a named volume for its data", () => {
    const { services, top } = loadCompose();
    const pg = services.postgres;
    expect(pg, "service postgres").toBeDefined();
    expect(String(pg.image)).toMatch(/^postgres:\d+/);
    const hc = asDict(pg.healthcheck, "postgres.healthcheck");
    expect(JSON.stringify(hc.test)).toContain("pg_isready");
    const env = envOf(pg);
    for (const k of ["POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"]) expect(env[k], k).toBeTruthy();
    const volumes = (pg.volumes as string[]).map((v) => String(v).split(":")[0]);
    const named = Object.keys(asDict(top.volumes, "volumes"));
    expect(volumes.some((v) => named.includes(v))).toBe(true);
  });

  it("runs at least two Uplift replicas of one image against the postgres service", () => {
    const { services } = loadCompose();
    const replicas = Object.entries(services).filter(([, s]) => s.build !== undefined);
    expect(replicas.map(([n]) => n).length).toBeGreaterThanOrEqual(2);

    const images = new Set(replicas.map(([, s]) => String(s.image)));
    const builds = new Set(replicas.map(([, s]) => JSON.stringify(s.build)));
    expect(images.size, "one image name for every replica").toBe(1);
    expect([...images][0]).not.toBe("undefined");
    expect(builds.size, "one build definition for every replica").toBe(1);

    // The build context holds the Dockerfile the build names.
    const build = replicas[0][1].build;
    const context = typeof build === "string" ? build : String(asDict(build, "build").context ?? ".");
    const dockerfile =
      typeof build === "string" ? "Dockerfile" : String(asDict(build, "build").dockerfile ?? "Dockerfile");
    expect(path.resolve(root, context, dockerfile)).toBe(dockerfilePath);

    const pgEnv = envOf(services.postgres);
    const hostPorts = new Set<string>();
    for (const [name, svc] of replicas) {
      const env = envOf(svc);
      const url = new URL(env.DATABASE_URL);
      expect(url.protocol, `${name} DATABASE_URL`).toMatch(/^postgres(ql)?:$/);
      expect(url.hostname, `${name} DATABASE_URL host`).toBe("postgres");
      // The application's own role (created by the init script), never the image's superuser.
      expect(decodeURIComponent(url.username)).not.toBe(pgEnv.POSTGRES_USER);
      expect(decodeURIComponent(url.password)).toBe(SECRETS.UPLIFT_DB_PASSWORD);
      expect(decodeURIComponent(url.password)).toBe(pgEnv.UPLIFT_DB_PASSWORD);
      expect(env.UPLIFT_ADMIN_TOKEN, `${name} UPLIFT_ADMIN_TOKEN`).toBe(SECRETS.UPLIFT_ADMIN_TOKEN);
      expect(env.HOST, `${name} HOST`).toBe("0.0.0.0");

      const dep = asDict(
        asDict(svc.depends_on, `${name}.depends_on`).postgres,
        `${name}.depends_on.postgres`,
      );
      expect(dep.condition).toBe("service_healthy");

      expect(svc.healthcheck, `${name} healthcheck`).toBeDefined();
      expect(svc.restart).toBe("unless-stopped");

      // The published port reaches the port the app listens on; host ports differ between replicas.
      const ports = (svc.ports as string[]).map(String);
      expect(ports).toHaveLength(1);
      const parts = ports[0].split(":");
      expect(parts[parts.length - 1]).toBe(env.PORT ?? "4000");
      const hostPort = parts[parts.length - 2];
      expect(hostPorts.has(hostPort), `host port ${hostPort} used twice`).toBe(false);
      hostPorts.add(hostPort);

      // UPLIFT_CONFIG is mounted from a file that exists (a missing source becomes an empty directory).
      if (env.UPLIFT_CONFIG) {
        const mount = (svc.volumes as string[])
          .map((v) => String(v).split(":"))
          .find(([, target]) => target === env.UPLIFT_CONFIG);
        expect(mount, `${name}: a volume mounted at ${env.UPLIFT_CONFIG}`).toBeDefined();
        expect(existsSync(path.resolve(root, mount![0])), `${mount![0]} exists`).toBe(true);
      }
    }
  });
});

describe("docker-compose.yml secrets and database role", () => {
  const raw = readFileSync(composePath, "utf8");

  it("requires the database passwords and the admin token, with no default anywhere", () => {
    for (const name of Object.keys(SECRETS)) {
      expect(raw, `${name} is required with \${${name}:?…}`).toContain(`\${${name}:?`);
      expect(raw, `${name} has no default`).not.toMatch(new RegExp(`\\$\\{${name}(:?-|\\})`));
      // Unset or empty, compose refuses to start (emulated by the interpolation above).
      const without = { ...SECRETS, [name]: "" };
      const { services } = loadCompose();
      expect(() => {
        for (const svc of Object.values(services)) envOf(svc, without);
      }).toThrow(new RegExp(`required variable ${name}`));
    }
    // No password-like literal either.
    const { services } = loadCompose();
    expect(envOf(services.postgres).POSTGRES_PASSWORD).toBe(SECRETS.POSTGRES_PASSWORD);
  });

  it("connects the application as a non-superuser role that owns Uplift's database", () => {
    const { services } = loadCompose();
    const pg = services.postgres;
    const appUrl = new URL(envOf(services["uplift-1"]).DATABASE_URL);
    const role = decodeURIComponent(appUrl.username);
    const db = appUrl.pathname.slice(1);
    // The init script is mounted where the image runs it on first start, from a file of the repository.
    const mount = (pg.volumes as string[])
      .map((v) => String(v).split(":"))
      .find(([, target]) => target.startsWith("/docker-entrypoint-initdb.d/"));
    expect(mount, "an init script mounted into /docker-entrypoint-initdb.d").toBeDefined();
    const script = readFileSync(path.resolve(root, mount![0]), "utf8");
    expect(mount![2]).toBe("ro");
    // It creates exactly that role, without superuser powers, with the password compose gives it...
    const create = new RegExp(`CREATE ROLE ${role} LOGIN PASSWORD :'(\\w+)'([^;]*);`).exec(script);
    expect(create, `CREATE ROLE ${role}`).not.toBeNull();
    expect(create![2]).toMatch(/\bNOSUPERUSER\b/);
    expect(create![2]).toMatch(/\bNOCREATEROLE\b/);
    expect(script).toMatch(new RegExp(`--set=${create![1]}="\\$UPLIFT_DB_PASSWORD"`));
    expect(envOf(pg).UPLIFT_DB_PASSWORD).toBe(decodeURIComponent(appUrl.password));
    // ...and the database the application uses, owned by it (so it owns the schema its migrations build).
    expect(script).toContain(`CREATE DATABASE ${db} OWNER ${role};`);
    expect(role).not.toBe(envOf(pg).POSTGRES_USER);
    expect(script.startsWith("#!/bin/sh")).toBe(true);
  });
});

// ---------------------------------------------------------------- Dockerfile

describe("Dockerfile", () => {
  const stages = stagesOf(parseDockerfile(readFileSync(dockerfilePath, "utf8")));
  const runtime = stages[stages.length - 1];
  const stageNames = new Set(stages.map((s) => s.name).filter(Boolean));

  it("is multi-stage on Node.js 20", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) {
      if (!stageNames.has(s.from)) expect(s.from).toMatch(/^node:20[.-]/);
    }
  });

  it("builds with npm ci and npm run build, and ships production dependencies only", () => {
    const runs = stages.flatMap((s) => s.body.filter((i) => i.keyword === "RUN").map((i) => i.args));
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    expect(runs.some((r) => /--omit=dev|--production\b/.test(r))).toBe(true);
  });

  it("runs as a non-root user, listening on 0.0.0.0", () => {
    const users = runtime.body.filter((i) => i.keyword === "USER").map((i) => i.args.split(":")[0]);
    expect(users.length).toBeGreaterThan(0);
    expect(["root", "0"]).not.toContain(users[users.length - 1]);
    const env = runtime.body
      .filter((i) => i.keyword === "ENV")
      .map((i) => i.args)
      .join(" ");
    expect(env).toMatch(/\bHOST=0\.0\.0\.0\b/);
    expect(env).toMatch(/\bNODE_ENV=production\b/);
  });

  it("has a HEALTHCHECK on /healthz that needs no curl", () => {
    const hc = runtime.body.filter((i) => i.keyword === "HEALTHCHECK");
    expect(hc).toHaveLength(1);
    expect(hc[0].args).not.toMatch(/^NONE\b/i);
    expect(hc[0].args).toContain("/healthz");
    expect(hc[0].args).not.toMatch(/\b(curl|wget)\b/);
  });

  it("starts the compiled entry point, which the build produces from src/main.ts", () => {
    const cmd = runtime.body.filter((i) => i.keyword === "CMD");
    expect(cmd).toHaveLength(1);
    expect(argList(cmd[0].args)).toEqual(["node", "dist/src/main.js"]);
    // `npm run build` = tsc -p tsconfig.build.json: outDir dist, rootDir . → src/main.ts becomes dist/src/main.js.
    const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
    expect(pkg.scripts.build).toContain("tsconfig.build.json");
    expect(pkg.scripts.start).toContain("src/main.ts");
    const base = JSON.parse(readFileSync(path.join(root, "tsconfig.json"), "utf8"));
    const build = JSON.parse(readFileSync(path.join(root, "tsconfig.build.json"), "utf8"));
    const opts = { ...base.compilerOptions, ...build.compilerOptions };
    expect(path.posix.normalize(opts.outDir)).toBe("dist");
    expect(path.posix.normalize(opts.rootDir)).toBe(".");
    expect(build.include ?? base.include).toContain("src");
    expect(existsSync(path.join(root, "src/main.ts"))).toBe(true);
  });

  it("copies into the runtime stage only files that exist or that the build produces", () => {
    // What the build stage creates rather than copies: tsc output and the installed dependencies.
    const produced = new Set(["dist", "node_modules"]);
    const problems: string[] = [];
    const copies = copiesOf(runtime);
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      for (const src of c.sources) {
        if (c.from !== null) {
          const stage = stages.find((s) => s.name === c.from);
          if (!stage) {
            problems.push(`line ${c.line}: --from=${c.from} is not a stage of this Dockerfile`);
            continue;
          }
          const workdir = stage.body.filter((i) => i.keyword === "WORKDIR").pop()?.args ?? "/";
          const rel = path.posix.relative(workdir, path.posix.resolve(workdir, src));
          if (rel.startsWith("..")) {
            problems.push(`line ${c.line}: ${src} is outside the ${c.from} stage's WORKDIR ${workdir}`);
          } else if (!produced.has(rel.split("/")[0]) && contextMatches(rel).length === 0) {
            problems.push(`line ${c.line}: ${src} is neither produced by the build nor in the repository`);
          }
          continue;
        }
        const found = contextMatches(src);
        if (found.length === 0) problems.push(`line ${c.line}: ${src} matches no file in the repository`);
        for (const f of found) {
          const rule = dockerignored(f);
          if (rule) problems.push(`line ${c.line}: ${f} is excluded by .dockerignore rule "${rule}"`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("exposes the port the app listens on", () => {
    const expose = runtime.body.filter((i) => i.keyword === "EXPOSE").flatMap((i) => argList(i.args));
    const env = runtime.body
      .filter((i) => i.keyword === "ENV")
      .map((i) => i.args)
      .join(" ");
    const port = /\bPORT=(\d+)/.exec(env)?.[1] ?? "4000";
    expect(expose.map((e) => e.split("/")[0])).toContain(port);
  });
});

describe(".dockerignore", () => {
  it("keeps local dependencies, build output and local data out of the build context", () => {
    for (const p of ["node_modules", "dist", ".uplift", ".git", "bench/.data", "coverage"]) {
      expect(dockerignored(p), p).not.toBeNull();
    }
    for (const p of ["package.json", "package-lock.json", "src/main.ts", "tsconfig.build.json"]) {
      expect(dockerignored(p), p).toBeNull();
    }
  });
});
