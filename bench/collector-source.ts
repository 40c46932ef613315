// Child process of the `collector` benchmark: a local JSON API that serves the benchmark's observations
// (bench/data.ts, the same rows the COPY floor loads) in pages with `Link: <…>; rel="next"` pagination.
// It runs apart from Uplift so that its memory and CPU are not counted as Uplift's. Pages are serialised
// once at start-up, so serving costs almost nothing while a run is measured.
//
//   GET /items?n=<rows>&page=<k>  → the k-th page of the first n rows (n a multiple of the page size)
//
// IPC: sends { kind: "ready", port, pageSize, rows } once listening; answers "stats" with
// { kind: "stats", requests, bytes, cpuMs }.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { generateDataset } from "./data.js";

const ROWS = Number(process.env.SOURCE_ROWS ?? 1_000_000);
const PAGE = Number(process.env.SOURCE_PAGE ?? 5_000);

const data = generateDataset(ROWS);
const pages: Buffer[] = [];
for (let lo = 0; lo < ROWS; lo += PAGE) {
  const items = [];
  for (let i = lo; i < Math.min(ROWS, lo + PAGE); i++) {
    items.push({
      id: data.externalId(i),
      at: new Date(data.observedAt[i]).toISOString(),
      minutes: data.value[i],
    });
  }
  pages.push(Buffer.from(JSON.stringify(items)));
}

let requests = 0;
let bytes = 0;
const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const n = Number(url.searchParams.get("n"));
  const k = Number(url.searchParams.get("page") ?? 0);
  if (url.pathname !== "/items" || !Number.isInteger(n) || n % PAGE !== 0 || n > ROWS || k * PAGE >= n) {
    res.writeHead(404, { "content-type": "application/json" }).end('{"error":"no such page"}');
    return;
  }
  requests++;
  const body = pages[k]!;
  bytes += body.length;
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": body.length,
  };
  if ((k + 1) * PAGE < n) headers.link = `</items?n=${n}&page=${k + 1}>; rel="next"`;
  res.writeHead(200, headers).end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  process.send!({ kind: "ready", port: (server.address() as AddressInfo).port, pageSize: PAGE, rows: ROWS });
});
process.on("message", (m) => {
  if (m === "stats") {
    const c = process.cpuUsage();
    process.send!({ kind: "stats", requests, bytes, cpuMs: (c.user + c.system) / 1000 });
  }
});
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
