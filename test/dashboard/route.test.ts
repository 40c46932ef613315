// The /dashboard router on its own: what it serves, with which headers, and what it refuses.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DASHBOARD_CSP,
  DASHBOARD_DIR,
  dashboardRouter,
  graphqlWsDistDir,
} from "../../src/dashboard/route.js";
import { PROJECT_ROOT } from "../../src/paths.js";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let server: http.Server;
let port: number;

beforeAll(async () => {
  const app = express();
  app.use(dashboardRouter());
  app.use((_req, res) => {
    res.status(404).json({ errors: [{ message: "no such route", extensions: { code: "NOT_FOUND" } }] });
  });
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

/** A request with the path sent exactly as written: no client-side `..` normalisation or re-encoding. */
function raw(pathname: string, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: pathname, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

const page = (file: string) => fs.readFileSync(path.join(DASHBOARD_DIR, file), "utf8");

describe("dashboardRouter", () => {
  it("reads the page from PROJECT_ROOT/src/dashboard, so the compiled server finds it too", () => {
    expect(DASHBOARD_DIR).toBe(path.join(PROJECT_ROOT, "src", "dashboard"));
    for (const f of ["index.html", "dashboard.js", "dashboard.css"]) {
      expect(fs.existsSync(path.join(DASHBOARD_DIR, f)), f).toBe(true);
    }
  });

  it("serves the page at /dashboard, /dashboard/ and /dashboard/index.html with the CSP and revalidation", async () => {
    for (const p of ["/dashboard", "/dashboard/", "/dashboard/index.html"]) {
      const r = await raw(p);
      expect(r.status, p).toBe(200);
      expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(r.headers["content-security-policy"]).toBe(
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'",
      );
      expect(r.headers["content-security-policy"]).toBe(DASHBOARD_CSP);
      expect(r.headers["cache-control"]).toBe("no-cache");
      expect(r.headers.etag).toBeTruthy();
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
      expect(r.body).toBe(page("index.html"));
    }
  });

  it("serves the script and the stylesheet with their content types", async () => {
    const js = await raw("/dashboard/dashboard.js");
    expect(js.status).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["content-security-policy"]).toBe(DASHBOARD_CSP);
    expect(js.headers["cache-control"]).toBe("no-cache");
    expect(js.body).toBe(page("dashboard.js"));

    const css = await raw("/dashboard/dashboard.css");
    expect(css.status).toBe(200);
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect(css.body).toBe(page("dashboard.css"));
  });

  it("answers HEAD like GET without a body, and nothing but GET and HEAD", async () => {
    const head = await raw("/dashboard", "HEAD");
    expect(head.status).toBe(200);
    expect(head.headers["content-security-policy"]).toBe(DASHBOARD_CSP);
    expect(head.body).toBe("");
    for (const method of ["POST", "PUT", "DELETE"]) {
      expect((await raw("/dashboard", method)).status, method).toBe(404);
    }
  });

  it("serves graphql-ws's ESM build from node_modules byte for byte, cached for an hour", async () => {
    const dir = graphqlWsDistDir();
    expect(path.basename(dir)).toBe("dist");
    expect(fs.existsSync(path.join(dir, "client.js"))).toBe(true);
    const r = await raw("/dashboard/vendor/graphql-ws/client.js");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(r.headers["cache-control"]).toBe("public, max-age=3600");
    expect(r.body).toBe(fs.readFileSync(path.join(dir, "client.js"), "utf8"));
  });

  it("serves every module the page loads: its own files, the client and the chunks the client imports", async () => {
    const html = page("index.html");
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)]
      .map((m) => m[1])
      .filter((u) => !u.startsWith("data:"));
    expect(refs).toEqual(expect.arrayContaining(["/dashboard/dashboard.css", "/dashboard/dashboard.js"]));

    // Static import and re-export statements (at the start of a line, as both files write them).
    const imports = (code: string) =>
      [
        ...code.matchAll(
          /^\s*(?:import|export)\s[^'"`;]*?from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm,
        ),
      ].map((m) => m[1] ?? m[2]);
    const scriptImports = imports(page("dashboard.js"));
    expect(scriptImports).toEqual(["/dashboard/vendor/graphql-ws/client.js"]);

    const seen = new Set<string>();
    const queue = [...refs.filter((r) => r.startsWith("/")), ...scriptImports];
    while (queue.length) {
      const url = queue.shift()!;
      if (seen.has(url)) continue;
      seen.add(url);
      const r = await raw(url);
      expect(r.status, url).toBe(200);
      if (url.endsWith(".js")) {
        for (const spec of imports(r.body)) {
          // A bare specifier ("graphql") cannot load in a browser: the client must not need one.
          expect(spec.startsWith("./") || spec.startsWith("/"), `${url} imports ${spec}`).toBe(true);
          queue.push(new URL(spec, `http://x${url}`).pathname);
        }
      }
    }
    expect([...seen].some((u) => /\/vendor\/graphql-ws\/common-[\w-]+\.js$/.test(u))).toBe(true);
  });

  it("refuses paths outside the vendored folder, unknown files and files that are not .js with 404", async () => {
    const refused = [
      "/dashboard/vendor/graphql-ws/../package.json",
      "/dashboard/vendor/graphql-ws/..%2Fpackage.json",
      "/dashboard/vendor/graphql-ws/%2e%2e%2fpackage.json",
      "/dashboard/vendor/graphql-ws/%2E%2E%2FREADME.md",
      "/dashboard/vendor/graphql-ws/../../package.json",
      "/dashboard/vendor/graphql-ws/../../../package.json",
      "/dashboard/vendor/graphql-ws/..%2F..%2Fpackage.json",
      "/dashboard/vendor/graphql-ws/%2e%2e%2f%2e%2e%2fpackage.json",
      "/dashboard/vendor/graphql-ws/%2e%2e/%2e%2e/package.json",
      "/dashboard/vendor/graphql-ws/..%5c..%5cpackage.json",
      "/dashboard/vendor/graphql-ws/%2fetc%2fpasswd",
      "/dashboard/vendor/graphql-ws/..",
      "/dashboard/vendor/graphql-ws/",
      "/dashboard/vendor/graphql-ws/nope.js",
      "/dashboard/vendor/graphql-ws/client.cjs",
      "/dashboard/vendor/graphql-ws/client.d.ts",
      "/dashboard/vendor/graphql-ws/use/ws.js",
      "/dashboard/vendor/graphql-ws/client.js%00.txt",
      "/dashboard/vendor/graphql/index.js",
      "/dashboard/../package.json",
      "/dashboard/route.ts",
      "/dashboard/%2e%2e/paths.ts",
      "/dashboard/.env",
      "/dashboard/index.htm",
    ];
    const pkg = fs.readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8");
    for (const p of refused) {
      const r = await raw(p);
      expect(r.status, p).toBe(404);
      expect(r.headers["content-type"], p).toMatch(/^application\/json/);
      expect(r.body, p).not.toContain(pkg.slice(0, 40));
      expect(r.body, p).not.toContain('"name": "graphql-ws"');
      expect(r.body, p).not.toContain("graphql-ws");
    }
  });

  it("names nothing outside Uplift in the page's HTML, JavaScript and CSS (comments aside)", () => {
    // Comments may cite documentation; code and markup may not point anywhere but here.
    const stripped: Record<string, string> = {
      "index.html": page("index.html").replace(/<!--[\s\S]*?-->/g, ""),
      "dashboard.js": page("dashboard.js")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/(^|\s)\/\/.*$/gm, "$1"),
      "dashboard.css": page("dashboard.css").replace(/\/\*[\s\S]*?\*\//g, ""),
    };
    // The SVG namespace is an XML name that createElementNS needs; no browser fetches it.
    const NAMESPACES = ["http://www.w3.org/2000/svg"];
    for (const [file, text] of Object.entries(stripped)) {
      let rest = text;
      for (const ns of NAMESPACES) rest = rest.split(`"${ns}"`).join('""');
      expect(rest.match(/https?:\/\/[^\s"'`)]*/gi) ?? [], file).toEqual([]);
      // Protocol-relative URLs (//cdn.example/x.js) and @import of anything.
      expect(rest.match(/(?:src|href)\s*=\s*["']\/\/|url\(\s*["']?\/\/|@import/gi) ?? [], file).toEqual([]);
    }
    // And the check itself finds what it looks for.
    expect("fetch('https://cdn.example/x.js')".match(/https?:\/\/[^\s"'`)]*/gi)).toHaveLength(1);
  });

  it("is copied into the Docker image's runtime stage", () => {
    const dockerfile = fs.readFileSync(path.join(PROJECT_ROOT, "Dockerfile"), "utf8");
    const runtime = dockerfile.split(/^FROM\s/m).pop()!;
    const sources = [...runtime.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) => {
      const words = m[1].trim().split(/\s+/);
      const dest = words[words.length - 1].replace(/^\.\//, "/app/").replace(/\/?$/, "/");
      return words.slice(0, -1).map((src) => ({ src, dest }));
    });
    for (const file of ["index.html", "dashboard.js", "dashboard.css"]) {
      const hit = sources.find(({ src }) => {
        const re = new RegExp(`^${src.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`);
        return re.test(`src/dashboard/${file}`);
      });
      expect(hit, `a COPY of src/dashboard/${file}`).toBeDefined();
      expect(hit!.dest, `src/dashboard/${file} lands in /app/src/dashboard/`).toBe("/app/src/dashboard/");
    }
  });
});
