// Preloaded (`--import`) into the Uplift server that the `subscribers` benchmark starts, and nothing else:
// on SIGUSR2 it runs a full garbage collection and prints `bench-probe <process.memoryUsage() as JSON>` on
// stderr, so that the benchmark can read the server's live memory without the garbage of the moment.
import v8 from "node:v8";
import { runInNewContext } from "node:vm";

v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
process.on("SIGUSR2", () => {
  gc();
  gc();
  process.stderr.write(`bench-probe ${JSON.stringify(process.memoryUsage())}\n`);
});
