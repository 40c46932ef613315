// Child process of the `servicenow` benchmark: the fake ServiceNow Table API of the collector's tests
// (`serveGeneratedIncidents`), serving generated incidents, apart from Uplift so that its CPU is its own.
// IPC: { kind: "ready", options, data } once listening; "stats" → { kind: "stats", tableRequests, cpuMs }.
import { serveGeneratedIncidents } from "../collectors/servicenow-incidents/fake-servicenow.js";

const n = Number(process.env.INCIDENTS ?? 100_000);
const pageSize = process.env.PAGE_SIZE ? Number(process.env.PAGE_SIZE) : undefined;
const seed = process.env.SEED ? Number(process.env.SEED) : undefined;
const { fake, data, options } = await serveGeneratedIncidents(n, { pageSize, seed });
process.send!({
  kind: "ready",
  options,
  data: { n, resolved: data.resolved, sumMinutes: data.sumMinutes, meanMinutes: data.meanMinutes },
});
process.on("message", (m) => {
  if (m === "stats") {
    const c = process.cpuUsage();
    process.send!({ kind: "stats", tableRequests: fake.tableRequests, cpuMs: (c.user + c.system) / 1000 });
  }
});
const quit = () => void fake.close().finally(() => process.exit(0));
process.on("disconnect", quit);
process.on("SIGTERM", quit);
