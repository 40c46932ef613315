import { abortableSleep } from "../http-client.js";

/**
 * Spaces requests evenly: each one starts at least 60 000 / requestsPerMinute ms after the previous
 * one's answer arrived, so a source never receives more than requestsPerMinute requests in any 60 s
 * whatever the network's delays. `wait()` before a request, `done()` when its answer is in.
 */
export function createPacer(requestsPerMinute: number, signal: AbortSignal, now = () => Date.now()) {
  const intervalMs = 60_000 / requestsPerMinute;
  let last: number | null = null;
  return {
    async wait(): Promise<void> {
      const wait = last === null ? 0 : last + intervalMs - now();
      if (wait > 0) await abortableSleep(wait, signal);
      signal.throwIfAborted();
    },
    done(): void {
      last = now();
    },
  };
}
