import {
  type ExecutionArgs,
  type ExecutionResult,
  type FormattedExecutionResult,
  GraphQLError,
} from "graphql";
import type { WebSocket } from "ws";
import type { Principal } from "../auth/principal.js";
import type { Mailbox } from "../live/mailbox.js";
import { log } from "../log.js";

/** One graphql-ws subscription whose events are written to its socket here rather than by graphql-ws. */
interface Target {
  socket: WebSocket;
  id: string;
  /** What may share one execution: document, operation, variables and what the principal may see. */
  key: string;
  args: ExecutionArgs;
  box: Mailbox<unknown>;
  /** The socket took the previous message: the mailbox may hand over the next event. */
  sent: (err?: Error | null) => void;
}

/** One event's response to one key: executed and serialised once, then written to every waiting target. */
interface Batch {
  payload: Buffer | null;
  waiting: Target[] | null;
  /** The whole `next` message per subscription id (most clients use the same few ids). */
  messages: Map<string, Buffer>;
}

export interface FanoutOptions {
  execute: (args: ExecutionArgs, rootValue: unknown) => ExecutionResult | Promise<ExecutionResult>;
  format: (errors: readonly GraphQLError[]) => FormattedExecutionResult["errors"];
  maxBufferedBytes: number;
}

const TEXT = { binary: false } as const;
const OPEN = 1; // WebSocket.OPEN
const CLOSE = Buffer.from("}");

/**
 * The push side of GraphQL subscriptions whose source is a hub mailbox (src/live/mailbox.ts): for each
 * event, the response is executed and serialised once per key, and the same bytes — spliced after each
 * subscription's own id, `{"id":…,"type":"next","payload":…}` exactly as graphql-ws writes it — go to
 * every socket, with no promise or JSON.stringify per subscriber. Backpressure is the mailbox's: a socket
 * gets its next event only once it has taken the previous one, and meanwhile keeps the newest per KPI.
 * Access control: the hub hands a subscriber only the events its principal may see (its filter), and the
 * key holds the principal's role and projects, so responses are shared only among equal principals' views.
 */
export class SubscriptionFanout {
  private readonly batches = new WeakMap<object, Map<string, Batch>>();
  private readonly documentIds = new WeakMap<object, number>();
  private nextDocumentId = 0;

  constructor(private readonly opts: FanoutOptions) {}

  /** graphql-ws's view of the subscription: an iteration that yields nothing and ends when the box closes. */
  subscribe(
    box: Mailbox<unknown>,
    socket: WebSocket,
    id: string,
    args: ExecutionArgs,
    principal: Principal,
  ): AsyncGenerator<never, void, void> {
    const t: Target = {
      socket,
      id,
      key: this.keyOf(args, principal),
      args,
      box,
      sent: (err) => {
        if (!err) box.ready();
      },
    };
    box.push((event) => this.deliver(t, event));
    const done = { value: undefined, done: true } as const;
    return {
      next: () => box.whenClosed().then(() => done),
      return: () => box.return().then(() => done),
      throw: (e: unknown) => {
        box.close();
        return Promise.reject(e);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    } as AsyncGenerator<never, void, void>;
  }

  private keyOf(args: ExecutionArgs, principal: Principal): string {
    let doc = this.documentIds.get(args.document);
    if (doc === undefined) {
      doc = this.nextDocumentId++;
      this.documentIds.set(args.document, doc);
    }
    const projects = principal.projects === null ? "*" : JSON.stringify([...principal.projects].sort());
    return `${doc}\u0000${args.operationName ?? ""}\u0000${JSON.stringify(args.variableValues ?? null)}\u0000${principal.role}\u0000${projects}`;
  }

  private deliver(t: Target, event: unknown): void {
    if (event === null || typeof event !== "object") {
      this.run(t, event, null); // nothing to share an execution by
      return;
    }
    let byKey = this.batches.get(event);
    if (!byKey) {
      byKey = new Map();
      this.batches.set(event, byKey);
    }
    const batch = byKey.get(t.key);
    if (batch?.payload) this.write(t, batch);
    else if (batch) batch.waiting!.push(t);
    else {
      const fresh: Batch = { payload: null, waiting: [t], messages: new Map() };
      byKey.set(t.key, fresh);
      this.run(t, event, fresh);
    }
  }

  /** Executes the response for `t`'s key and writes it to the batch's waiting targets (or to `t` alone). */
  private run(t: Target, event: unknown, batch: Batch | null): void {
    const b = batch ?? { payload: null, waiting: [t], messages: new Map() };
    let result: ExecutionResult | Promise<ExecutionResult>;
    try {
      result = this.opts.execute(t.args, event);
    } catch (e) {
      result = Promise.reject(e);
    }
    const finish = (r: ExecutionResult) => {
      const payload: ExecutionResult | FormattedExecutionResult = r.errors?.length
        ? { ...r, errors: this.opts.format(r.errors) }
        : r;
      b.payload = Buffer.from(JSON.stringify(payload));
      const waiting = b.waiting!;
      b.waiting = null;
      for (const w of waiting) this.write(w, b);
    };
    if (!(result instanceof Promise)) {
      finish(result);
      return;
    }
    // graphql-js turns resolvers' errors into `errors`; a rejection here is a bug, sent as one all the same.
    result.then(finish, (e) => {
      log.warn("executing a subscription's response failed", { error: e });
      finish({ errors: [new GraphQLError("internal error", { originalError: e as Error })] });
    });
  }

  private write(t: Target, b: Batch): void {
    const socket = t.socket;
    // Completed meanwhile (no `next` after the client's `complete`), or closing (graphql-ws closes the box).
    if (t.box.isClosed || socket.readyState !== OPEN) return;
    if (socket.bufferedAmount > this.opts.maxBufferedBytes) {
      log.warn("closing a subscriber that does not keep up", { buffered: socket.bufferedAmount });
      socket.close(1013, "consumer too slow: reconnect"); // 1013 Try Again Later
      return;
    }
    let message = b.messages.get(t.id);
    if (!message) {
      const head = Buffer.from(`{"id":${JSON.stringify(t.id)},"type":"next","payload":`);
      message = Buffer.concat([head, b.payload!, CLOSE]);
      b.messages.set(t.id, message);
    }
    socket.send(message, TEXT, t.sent);
  }
}
