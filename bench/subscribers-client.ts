// A worker of the `subscribers` benchmark (a child process): opens COUNT raw WebSocket connections to
// WS_URL speaking graphql-transport-ws (connection_init → connection_ack → one subscribe with QUERY), and
// notes when each `next` message arrives, as performance.timeOrigin + performance.now() (the machine's clock,
// comparable with the parent's). Raw `ws` rather than the graphql-ws client, which is heavier per connection.
//
// IPC to the parent: { kind: "ready", subscribed, failed, ms } once every connection is acked and its
// subscribe sent; { kind: "complete", round } when every connection has received its round-th event.
// From the parent: { kind: "times", round } → { kind: "times", round, times (null = not received), errors,
// sample }; { kind: "close" } → closes every connection and exits.
import WebSocket from "ws";

const url = process.env.WS_URL!;
const count = Number(process.env.COUNT);
const query = process.env.QUERY!;
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 100);

const sockets: WebSocket[] = [];
const received = new Int32Array(count);
const rounds: Float64Array[] = [];
const roundCounts: number[] = [];
const samples: unknown[] = [];
let errors = 0;
let failed = 0;
let subscribed = 0;
const subscribeMessage = JSON.stringify({ id: "1", type: "subscribe", payload: { query } });
const NEXT_PREFIX = Buffer.from('{"id":"1","type":"next","payload":');
const ERRORS = Buffer.from('"errors":');

function open(i: number): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, "graphql-transport-ws", { perMessageDeflate: false });
    sockets[i] = ws;
    let settled = false;
    const done = () => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    ws.on("open", () => ws.send('{"type":"connection_init"}'));
    ws.on("message", (buf: Buffer) => {
      const t = performance.timeOrigin + performance.now();
      // graphql-ws writes `{"id":"1","type":"next","payload":…}`: a `next` is recognised by its bytes, and
      // only one per round is parsed (the sample), so that the workers, which share the machine's cores
      // with the server, spend as little as possible per message.
      if (buf.length > NEXT_PREFIX.length && buf.subarray(0, NEXT_PREFIX.length).equals(NEXT_PREFIX)) {
        if (buf.includes(ERRORS)) errors++;
        const r = received[i]!++;
        if (!rounds[r]) {
          rounds[r] = new Float64Array(count).fill(Number.NaN);
          roundCounts[r] = 0;
          samples[r] = JSON.parse(buf.toString()).payload;
        }
        rounds[r]![i] = t;
        if (++roundCounts[r]! === count) process.send!({ kind: "complete", round: r });
        return;
      }
      const m = JSON.parse(buf.toString());
      if (m.type === "next") throw new Error(`unexpected message layout: ${buf.toString().slice(0, 80)}`);
      if (m.type === "connection_ack") {
        ws.send(subscribeMessage);
        subscribed++;
        done();
      } else if (m.type === "ping") {
        ws.send('{"type":"pong"}');
      } else if (m.type === "error") {
        errors++;
      }
    });
    ws.on("error", () => {
      failed++;
      done();
    });
    ws.on("close", () => done());
  });
}

const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: IN_FLIGHT }, async () => {
    while (next < count) await open(next++);
  }),
);
process.send!({ kind: "ready", subscribed, failed, ms: performance.now() - t0 });

process.on("message", (m: any) => {
  if (m?.kind === "times") {
    const r = rounds[m.round];
    process.send!({
      kind: "times",
      round: m.round,
      times: r ? Array.from(r, (x) => (Number.isNaN(x) ? null : x)) : Array(count).fill(null),
      errors,
      sample: samples[m.round] ?? null,
    });
  } else if (m?.kind === "close") {
    for (const s of sockets) s?.close(1000);
    setTimeout(() => process.exit(0), 500).unref();
  }
});
process.on("disconnect", () => process.exit(0));
