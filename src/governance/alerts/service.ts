import type { DataSource } from "typeorm";
import { inBackground } from "../../kpi/background.js";
import type { KpiEngine } from "../../kpi/engine.js";
import { Mailbox } from "../../live/mailbox.js";
import type { Logger } from "../../log.js";
import { listAlerts } from "../../store/alerts.js";
import { CHANGES_CHANNEL, decodeScope, RUNS_CHANNEL } from "../../store/changes.js";
import { evaluateCollectorRules, evaluateKpiRules, kpiTargets, type Verdict } from "./conditions.js";
import { type DeliveryOptions, WebhookDelivery } from "./delivery.js";
import { ALERTS_CHANNEL, type AlertEvent, EVENT_COLUMNS, reviveEvent } from "./events.js";

export interface AlertServiceOptions {
  /** The clock for STALE and REGRESSION windows (tests move it). */
  now?: () => Date;
  /** Every rule is evaluated this often, also when nothing is written (default 60 s). */
  evaluateEveryMs?: number;
  /** Due webhook retries are looked for this often (default 1 s); new events are sent at once. */
  deliverEveryMs?: number;
  /** Changes arriving within this window are evaluated together (default 50 ms). */
  coalesceMs?: number;
  delivery?: DeliveryOptions;
  /** Off: no timers (tests drive `evaluateAll` and `delivery.kick` themselves). */
  timers?: boolean;
}

/** Where notifications arrive (the live hub's LISTEN connection). */
export interface NotificationSource {
  tap(fn: (channel: string, payload: string) => void): () => void;
}

interface Pending {
  all: boolean;
  kpiIds: Set<string>;
  projectIds: Set<string>;
  metricIds: Set<string>;
  pairs: { projectId: string; metricId: string }[];
  collectors: Set<string> | null;
}

/**
 * Evaluates alert rules when what they watch changes (the NOTIFY of every commit, on every replica)
 * and on a timer, and fires on a change of state. Each firing is decided under a row lock on the rule's
 * state for that subject, in the transaction that inserts the event: however many replicas evaluate
 * the same change, one of them flips the state and inserts the one event; the others find it flipped.
 */
export class AlertService {
  readonly delivery: WebhookDelivery;
  private readonly subs = new Set<{ rule: string | null; box: Mailbox<AlertEvent> }>();
  private pending: Pending = AlertService.empty();
  private timer: NodeJS.Timeout | null = null;
  private intervals: NodeJS.Timeout[] = [];
  private chain: Promise<void> = Promise.resolve();
  private untap: (() => void) | null = null;
  private readonly now: () => Date;
  /** Counters for tests and benchmarks. */
  readonly stats = { evaluations: 0, fired: 0 };

  constructor(
    private readonly ds: DataSource,
    private readonly engine: KpiEngine,
    private readonly source: NotificationSource,
    private readonly log: Logger,
    private readonly opts: AlertServiceOptions = {},
  ) {
    this.now = opts.now ?? (() => new Date());
    this.delivery = new WebhookDelivery(ds, log, opts.delivery);
  }

  private static empty(): Pending {
    return {
      all: false,
      kpiIds: new Set(),
      projectIds: new Set(),
      metricIds: new Set(),
      pairs: [],
      collectors: new Set(),
    };
  }

  start(): void {
    this.untap = this.source.tap((channel, payload) => this.onNotification(channel, payload));
    if (this.opts.timers === false) return;
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(
        () => void fn().catch((e) => this.log.warn("alert timer failed", { error: e })),
        ms,
      );
      t.unref();
      this.intervals.push(t);
    };
    every(this.opts.evaluateEveryMs ?? 60_000, () => this.evaluateAll());
    every(this.opts.deliverEveryMs ?? 1000, () => this.delivery.kick());
    // Whatever happened while no process was up: evaluate once now, and send what is due.
    void this.evaluateAll().catch((e) => this.log.warn("alert evaluation failed", { error: e }));
    void this.delivery.kick();
  }

  async stop(): Promise<void> {
    this.untap?.();
    for (const t of this.intervals) clearInterval(t);
    if (this.timer) clearTimeout(this.timer);
    for (const s of this.subs) s.box.close();
    await this.chain;
    await this.delivery.stop();
  }

  subscribe(rule: string | null): AsyncIterableIterator<AlertEvent> {
    const sub = { rule, box: new Mailbox<AlertEvent>(() => this.subs.delete(sub)) };
    this.subs.add(sub);
    return sub.box;
  }

  /** Resolves once the changes heard so far have been evaluated (benchmarks, tests). */
  async settled(): Promise<void> {
    while (this.timer) await new Promise((r) => setTimeout(r, 5));
    await this.chain;
  }

  /** Every enabled rule against the current figures and clock (the timer; tests call it directly). */
  evaluateAll(): Promise<void> {
    return this.enqueue({ ...AlertService.empty(), all: true, collectors: null });
  }

  private onNotification(channel: string, payload: string) {
    if (channel === ALERTS_CHANNEL) {
      const event = reviveEvent(payload);
      if (!event) return;
      for (const s of this.subs) if (!s.rule || s.rule === event.rule) s.box.put(event.id, event);
      if (event.delivery === "PENDING") void this.delivery.kick();
      return;
    }
    if (channel === RUNS_CHANNEL) {
      try {
        const run = JSON.parse(payload) as { collector?: string; status?: string };
        if (run.collector && run.status !== "RUNNING") this.merge({ collectors: [run.collector] });
      } catch {
        /* not ours to judge */
      }
      return;
    }
    if (channel === CHANGES_CHANNEL) {
      const scope = decodeScope(payload);
      if (scope) this.merge(scope);
    }
  }

  private merge(scope: {
    pairs?: { projectId: string; metricId: string }[];
    kpiIds?: string[];
    projectIds?: string[];
    metricIds?: string[];
    collectors?: string[];
  }) {
    const p = this.pending;
    p.pairs.push(...(scope.pairs ?? []));
    for (const id of scope.kpiIds ?? []) p.kpiIds.add(id);
    for (const id of scope.projectIds ?? []) p.projectIds.add(id);
    for (const id of scope.metricIds ?? []) p.metricIds.add(id);
    for (const c of scope.collectors ?? []) p.collectors?.add(c);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      const taken = this.pending;
      this.pending = AlertService.empty();
      void this.enqueue(taken);
    }, this.opts.coalesceMs ?? 50);
  }

  /**
   * One evaluation at a time, in order. Evaluations are background work (src/kpi/background.ts): no request
   * waits for them, and they share the figures the reporting refresher is computing after the same commit
   * instead of computing them a second time beside it.
   */
  private enqueue(p: Pending): Promise<void> {
    const run = this.chain.then(() => inBackground(() => this.evaluate(p)));
    this.chain = run.catch((e) => this.log.warn("alert evaluation failed", { error: e }));
    return run;
  }

  private async evaluate(p: Pending): Promise<void> {
    const rules = await listAlerts(this.ds, true);
    if (!rules.length) return;
    this.stats.evaluations++;
    const verdicts: Verdict[] = [];
    const kpiRules = rules.filter((r) => r.kind !== "COLLECTOR_FAILING");
    if (kpiRules.length) {
      let ids: string[] | null = null;
      if (!p.all) ids = await this.affectedKpis(p);
      if (ids === null || ids.length) {
        const targets = await kpiTargets(this.ds, kpiRules, ids);
        verdicts.push(...(await evaluateKpiRules(this.ds, this.engine, targets, this.now())));
      }
    }
    if (p.all || p.collectors === null || p.collectors.size) {
      const names = p.all || p.collectors === null ? null : [...p.collectors];
      verdicts.push(...(await evaluateCollectorRules(this.ds, rules, names)));
    }
    await this.apply(verdicts);
  }

  private async affectedKpis(p: Pending): Promise<string[]> {
    if (!p.pairs.length && !p.kpiIds.size && !p.projectIds.size && !p.metricIds.size) return [];
    const rows: { id: string }[] = await this.ds.query(
      `SELECT k.id::text AS id FROM kpi k
       WHERE (k.project_id, k.metric_id) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))
          OR k.id = ANY($3::bigint[]) OR k.project_id = ANY($4::bigint[]) OR k.metric_id = ANY($5::bigint[])`,
      [
        p.pairs.map((x) => x.projectId),
        p.pairs.map((x) => x.metricId),
        [...p.kpiIds],
        [...p.projectIds],
        [...p.metricIds],
      ],
    );
    return rows.map((r) => r.id);
  }

  /** Flips the state of each verdict that differs from the stored one; a flip to firing inserts the event. */
  private async apply(verdicts: Verdict[]): Promise<void> {
    if (!verdicts.length) return;
    const states: { rule_id: string; subject: string; firing: boolean }[] = await this.ds.query(
      `SELECT rule_id::text, subject, firing FROM alert_state WHERE rule_id = ANY($1::bigint[])`,
      [[...new Set(verdicts.map((v) => v.rule.id))]],
    );
    const known = new Map(states.map((s) => [`${s.rule_id}|${s.subject}`, s.firing]));
    // No stored state counts as "not firing": a new rule whose condition already holds fires once.
    const changed = verdicts.filter((v) => (known.get(`${v.rule.id}|${v.subject}`) ?? false) !== v.firing);
    for (const v of changed) await this.flip(v);
  }

  private async flip(v: Verdict): Promise<void> {
    await this.ds.transaction(async (m) => {
      await m.query(
        `INSERT INTO alert_state (rule_id, subject, firing) VALUES ($1, $2, false) ON CONFLICT DO NOTHING`,
        [v.rule.id, v.subject],
      );
      const [state]: { firing: boolean }[] = await m.query(
        `SELECT firing FROM alert_state WHERE rule_id = $1 AND subject = $2 FOR UPDATE`,
        [v.rule.id, v.subject],
      );
      // Another replica evaluated the same change first, or the rule was deleted meanwhile.
      if (!state || state.firing === v.firing) return;
      const [rule] = await m.query(`SELECT 1 FROM alert_rule WHERE id = $1 AND enabled FOR SHARE`, [
        v.rule.id,
      ]);
      if (!rule) return;
      await m.query(
        `UPDATE alert_state SET firing = $3, changed_at = clock_timestamp() WHERE rule_id = $1 AND subject = $2`,
        [v.rule.id, v.subject, v.firing],
      );
      if (!v.firing) return;
      const [event]: AlertEvent[] = await m.query(
        `INSERT INTO alert_event (rule_id, rule_name, kind, project_slug, metric_key, collector, message, delivery,
           next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $8 = 'PENDING' THEN clock_timestamp() END)
         RETURNING ${EVENT_COLUMNS}`,
        [
          v.rule.id,
          v.rule.name,
          v.rule.kind,
          v.projectSlug,
          v.metricKey,
          v.collector,
          v.message,
          v.rule.webhookUrl ? "PENDING" : "NO_WEBHOOK",
        ],
      );
      // Delivered to every replica on commit: subscribers there get it, and their workers may send it.
      await m.query(`SELECT pg_notify($1, $2)`, [ALERTS_CHANNEL, JSON.stringify(event)]);
      this.stats.fired++;
    });
  }
}
