import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import express, { type Response, type Router } from "express";
import { PROJECT_ROOT } from "../paths.js";

/**
 * The live dashboard at /dashboard: three static files (no build step) and the graphql-ws browser client,
 * served from node_modules so that the page needs nothing from the internet. Files are resolved from the
 * project root, so the compiled server (dist/src/dashboard/route.js) finds them in src/dashboard/ too.
 */
export const DASHBOARD_DIR = path.join(PROJECT_ROOT, "src", "dashboard");

export const DASHBOARD_CSP =
  "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'";

const PAGES: Record<string, { file: string; type: string }> = {
  "/dashboard": { file: "index.html", type: "text/html; charset=utf-8" },
  "/dashboard/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/dashboard/dashboard.js": { file: "dashboard.js", type: "text/javascript; charset=utf-8" },
  "/dashboard/dashboard.css": { file: "dashboard.css", type: "text/css; charset=utf-8" },
};

/** The folder of graphql-ws's ESM build (client.js and the chunks it imports), wherever npm put it. */
export function graphqlWsDistDir(): string {
  // The package's "require" entry is dist/client.cjs, beside the ESM client.js the browser loads.
  return path.dirname(createRequire(import.meta.url).resolve("graphql-ws/client"));
}

/** The `.js` files directly in that folder, by name: the only vendor URLs the router answers. */
function vendorFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".js")) files.set(entry.name, path.join(dir, entry.name));
  }
  return files;
}

function securityHeaders(res: Response) {
  res.set({
    "Content-Security-Policy": DASHBOARD_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
  });
}

export function dashboardRouter(): Router {
  const router = express.Router({ strict: false });
  const vendorDir = graphqlWsDistDir();
  const vendor = vendorFiles(vendorDir);

  // The page's own files change with every release: revalidate (ETag / Last-Modified) on each load.
  for (const [route, { file, type }] of Object.entries(PAGES)) {
    router.get(route, (_req, res, next) => {
      securityHeaders(res);
      res.set({ "Content-Type": type, "Cache-Control": "no-cache" });
      res.sendFile(file, { root: DASHBOARD_DIR, dotfiles: "deny" }, (err) => {
        if (err && !res.headersSent) next();
      });
    });
  }

  // The vendored client changes only with the installed graphql-ws version: an hour of caching.
  router.get("/dashboard/vendor/graphql-ws/:file", (req, res, next) => {
    const file = vendor.get(req.params.file);
    if (!file) return next();
    securityHeaders(res);
    res.set({ "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "public, max-age=3600" });
    res.sendFile(path.basename(file), { root: vendorDir, dotfiles: "deny" }, (err) => {
      if (err && !res.headersSent) next();
    });
  });

  return router;
}
