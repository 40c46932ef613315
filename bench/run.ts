// `npm run bench` (node --import tsx bench/run.ts). The bench runs the app the way the Docker image does,
// with NODE_ENV=production unless told otherwise: graphql-js reads NODE_ENV once, when it is first imported,
// to choose between plain `instanceof` and its slower development checks in every type test (about a fifth
// of the CPU of coercing a 5,000-item recordObservations body; bench/RESULTS.md). Hence this launcher.
process.env.NODE_ENV ??= "production";
await import("./main.js");
