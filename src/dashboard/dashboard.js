// Uplift live dashboard: a plain ES module, no framework and no build step, served at /dashboard by
// src/dashboard/route.ts. It loads everything with one query, then applies kpiUpdated events as they come.
// The graphql-ws client is served by Uplift from its own node_modules: nothing comes from the internet.
import { createClient } from "/dashboard/vendor/graphql-ws/client.js";

const KPI_FIELDS = `projectSlug metric { key name unit direction } baseline { value count } current { value count }
  improvementPct targetMet target targetSetAt preRegistered confidence { low high } annualBenefit updatedAt
  series(bucket: WEEK) { start phase value }`;
const PORTFOLIO_FIELDS =
  "projectCount byStage { stage count } pilotConversionPct totalAnnualBenefit stalledPilots { slug }";
const ROI_FIELDS = "benefit cost net roiPct paybackMonths currency";
const DECISION_FIELDS = "recommendation { decision reason observationsNeeded }";

const DASHBOARD_QUERY = `query Dashboard {
  portfolio { ${PORTFOLIO_FIELDS} }
  projects { slug name stage kpis { ${KPI_FIELDS} } roi { ${ROI_FIELDS} } ${DECISION_FIELDS} }
}`;
const KPI_SUBSCRIPTION = `subscription Live { kpiUpdated { ${KPI_FIELDS} } }`;

const REFRESH_DEBOUNCE_MS = 300; // ROI and portfolio are re-read this long after the last update…
const REFRESH_MAX_WAIT_MS = 1500; // …but never later than this after the first one of a burst
const FLASH_MS = 1500;
const LOAD_RETRY_MS = 5000;
const WS_FALLBACK_MS = 1500; // load over HTTP even when the WebSocket does not come up
/** The reader key, when the server requires one: for this tab only, never in localStorage or a cookie. */
const KEY_STORAGE = "uplift.apiKey";

// ---------------------------------------------------------------- formatting (the browser's locale)

const fmt = {
  value: new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 }),
  count: new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 }),
  signedPct: new Intl.NumberFormat(undefined, {
    style: "percent",
    maximumFractionDigits: 1,
    signDisplay: "exceptZero",
  }),
  pct: new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 }),
  months: new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 }),
  date: new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }),
};
const moneyFormats = new Map();

const DASH = "—";
const STAGES = { IDEA: "Idea", PILOT: "Pilot", PRODUCTION: "Production", RETIRED: "Retired" };

function withUnit(value, unit) {
  return value == null ? DASH : `${fmt.value.format(value)} ${unit}`;
}

/** A percentage figure from the API (89.9 means 89.9 %). */
function signedPct(value) {
  return value == null ? DASH : fmt.signedPct.format(value / 100);
}

function pct(value) {
  return value == null ? DASH : fmt.pct.format(value / 100);
}

function money(value, currency) {
  if (value == null) return DASH;
  let f = moneyFormats.get(currency);
  if (!f) {
    try {
      f = new Intl.NumberFormat(undefined, {
        style: "currency",
        currency,
        minimumFractionDigits: 0,
        maximumFractionDigits: 0,
      });
    } catch {
      // Not an ISO 4217 code Intl knows: the number and the code as configured.
      const n = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
      f = { format: (v) => `${n.format(v)} ${currency}` };
    }
    moneyFormats.set(currency, f);
  }
  return f.format(value);
}

// ---------------------------------------------------------------- DOM helpers

const SVG_NS = "http://www.w3.org/2000/svg"; // an XML namespace name, never fetched

function append(el, children) {
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c);
  }
  return el;
}

/** An element with attributes (null/false ones left out) and children (strings become text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  return append(el, children);
}

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, String(v));
  return append(el, children);
}

/** One term of a <dl>; the attributes go on the <dd>. */
function fact(label, value, ddAttrs = {}) {
  return h("div", {}, h("dt", {}, label), h("dd", ddAttrs, value));
}

const $ = (sel) => document.querySelector(sel);

// ---------------------------------------------------------------- state

/** slug → { slug, name, stage, roi, kpis: Map(metricKey → kpi) } */
const projects = new Map();
let currency = "USD";
let loaded = false;
/** kpiUpdated events that arrived while a load was in flight: re-applied after it renders. */
const early = [];

// ---------------------------------------------------------------- rendering

function renderPortfolio(p) {
  const set = (key, text) => {
    const el = document.querySelector(`[data-portfolio="${key}"]`);
    if (el) el.textContent = text;
  };
  set("projectCount", fmt.count.format(p.projectCount));
  const byStage = document.querySelector('[data-portfolio="byStage"]');
  const stages = p.byStage.filter((s) => s.count > 0);
  if (byStage) {
    byStage.replaceChildren(
      ...stages.flatMap((s, i) => [
        i > 0 ? " · " : "",
        h("span", { class: "nowrap" }, `${STAGES[s.stage] ?? s.stage} ${s.count}`),
      ]),
    );
    if (stages.length === 0) byStage.textContent = DASH;
  }
  set("pilotConversion", pct(p.pilotConversionPct));
  set("totalAnnualBenefit", money(p.totalAnnualBenefit, currency));
  const stalled = p.stalledPilots.map((s) => s.slug);
  set("stalledPilots", stalled.length ? `${stalled.length}: ${stalled.join(", ")}` : "None");
}

/** A small line chart of the weekly series: BEFORE and AFTER in two colours, a go-live mark, the target. */
function sparkline(kpi) {
  const unit = kpi.metric.unit;
  const points = kpi.series
    .filter((p) => p.value != null)
    .map((p) => ({ t: Date.parse(p.start), v: p.value, phase: p.phase }))
    .sort((a, b) => a.t - b.t);
  if (points.length === 0) return h("p", { class: "spark-empty" }, "No weekly figures yet.");

  const W = 240;
  const H = 48;
  const PAD = 3;
  let tMin = points[0].t;
  let tMax = points[points.length - 1].t;
  if (tMin === tMax) {
    tMin -= 7 * 86_400_000;
    tMax += 7 * 86_400_000;
  }
  const values = points.map((p) => p.v);
  if (kpi.target != null) values.push(kpi.target);
  let vMin = Math.min(...values);
  let vMax = Math.max(...values);
  if (vMin === vMax) {
    const d = Math.abs(vMin) * 0.1 || 1;
    vMin -= d;
    vMax += d;
  }
  const x = (t) => PAD + ((t - tMin) / (tMax - tMin)) * (W - 2 * PAD);
  const y = (v) => H - PAD - ((v - vMin) / (vMax - vMin)) * (H - 2 * PAD);
  const line = (pts, cls) => {
    if (pts.length === 0) return null;
    const coords =
      pts.length === 1
        ? [`${x(pts[0].t) - 2},${y(pts[0].v)}`, `${x(pts[0].t) + 2},${y(pts[0].v)}`]
        : pts.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`);
    return svg("polyline", { class: cls, points: coords.join(" ") });
  };

  const before = points.filter((p) => p.phase === "BEFORE");
  const after = points.filter((p) => p.phase === "AFTER");
  let goLive = null;
  if (before.length && after.length) {
    const lastBefore = before[before.length - 1].t;
    const firstAfter = after[0].t;
    const gx = lastBefore >= firstAfter ? x(firstAfter) : (x(lastBefore) + x(firstAfter)) / 2;
    goLive = svg(
      "line",
      { class: "spark-golive", x1: gx.toFixed(1), x2: gx.toFixed(1), y1: 0, y2: H },
      svg("title", {}, "go-live"),
    );
  }
  const target =
    kpi.target == null
      ? null
      : svg("line", {
          class: "spark-target",
          x1: 0,
          x2: W,
          y1: y(kpi.target).toFixed(1),
          y2: y(kpi.target).toFixed(1),
        });

  const latest = points[points.length - 1];
  const label =
    `Weekly ${kpi.metric.name}: ${before.length} weeks before go-live, ${after.length} after; ` +
    `latest week ${withUnit(latest.v, unit)}` +
    (kpi.target == null ? "" : `; target ${withUnit(kpi.target, unit)}`);
  return svg(
    "svg",
    {
      class: "spark",
      viewBox: `0 0 ${W} ${H}`,
      preserveAspectRatio: "none",
      role: "img",
      "aria-label": label,
      "data-field": "sparkline",
    },
    target,
    line(before, "spark-before"),
    line(after, "spark-after"),
    goLive,
  );
}

/** What the sparkline draws, in its colours (the chart's aria-label says it in words). */
function legend(kpi) {
  const has = (phase) => kpi.series.some((p) => p.phase === phase && p.value != null);
  if (!has("BEFORE") && !has("AFTER")) return null;
  return h(
    "p",
    { class: "legend", "aria-hidden": "true" },
    has("BEFORE") && h("span", { class: "lg-before" }, "Before"),
    has("AFTER") && h("span", { class: "lg-after" }, "After"),
    has("BEFORE") && has("AFTER") && h("span", { class: "lg-golive" }, "Go-live"),
    kpi.target != null && h("span", { class: "lg-target" }, "Target"),
  );
}

/** A target set or moved after go-live is not pre-registered: say so next to it. */
function lateTarget(kpi) {
  if (kpi.target == null || kpi.preRegistered !== false) return null;
  const when = kpi.targetSetAt ? ` (${fmt.date.format(new Date(kpi.targetSetAt))})` : "";
  return fact("Pre-registered", `No: target set or moved after go-live${when}`, {
    "data-field": "preRegistered",
    class: "late-target",
  });
}

function targetFact(kpi) {
  if (kpi.target == null) return fact("Target", "None set", { "data-field": "target" });
  const rel = kpi.metric.direction === "LOWER_IS_BETTER" ? "≤" : "≥";
  const goal = `${rel} ${withUnit(kpi.target, kpi.metric.unit)}`;
  if (kpi.targetMet == null) return fact("Target", `${goal} (no current value)`, { "data-field": "target" });
  const met = kpi.targetMet;
  return fact(
    "Target",
    [h("span", { "aria-hidden": "true" }, met ? "✓ " : "✗ "), `${met ? "Met" : "Not met"}, ${goal}`],
    { "data-field": "target", class: met ? "met" : "not-met", "data-met": String(met) },
  );
}

function kpiItem(kpi) {
  const unit = kpi.metric.unit;
  const imp = kpi.improvementPct;
  const trend = imp == null || imp === 0 ? null : imp > 0 ? "better" : "worse";
  const confidence = kpi.confidence
    ? `${signedPct(kpi.confidence.low)} to ${signedPct(kpi.confidence.high)}`
    : null;
  return h(
    "li",
    { class: "kpi", "data-kpi": `${kpi.projectSlug}/${kpi.metric.key}` },
    h("h4", {}, kpi.metric.name, h("span", { class: "key" }, kpi.metric.key)),
    h(
      "p",
      { class: "change" },
      h("span", { class: "visually-hidden" }, "Baseline "),
      h("span", { class: "baseline", "data-field": "baseline" }, withUnit(kpi.baseline.value, unit)),
      h("span", { class: "arrow", "aria-hidden": "true" }, "→"),
      h("span", { class: "visually-hidden" }, ", now "),
      h("span", { class: "current", "data-field": "current" }, withUnit(kpi.current.value, unit)),
    ),
    h(
      "dl",
      { class: "facts" },
      fact("Improvement", signedPct(imp), { "data-field": "improvement", class: trend }),
      targetFact(kpi),
      lateTarget(kpi),
      fact(
        "Observations",
        `${fmt.count.format(kpi.baseline.count)} → ${fmt.count.format(kpi.current.count)}`,
        { "data-field": "counts" },
      ),
      confidence && fact("95% interval", confidence, { "data-field": "confidence" }),
      kpi.annualBenefit != null &&
        fact("Annual benefit", money(kpi.annualBenefit, currency), { "data-field": "annualBenefit" }),
    ),
    sparkline(kpi),
    legend(kpi),
    kpi.updatedAt &&
      h(
        "p",
        { class: "updated" },
        "Last observation recorded ",
        h("time", { datetime: kpi.updatedAt }, fmt.date.format(new Date(kpi.updatedAt))),
      ),
  );
}

function roiBlock(slug, roi) {
  let payback = DASH;
  if (roi.paybackMonths != null) payback = `${fmt.months.format(roi.paybackMonths)} months`;
  else if (roi.cost > 0) payback = "Never";
  return h(
    "section",
    { class: "roi", "data-roi": slug, "aria-label": "Return on investment over 12 months" },
    h("h4", { "aria-hidden": "true" }, "ROI over 12 months"),
    h(
      "dl",
      { class: "roi-figures" },
      fact("Benefit", money(roi.benefit, roi.currency), { "data-field": "benefit" }),
      fact("Cost", money(roi.cost, roi.currency), { "data-field": "cost" }),
      fact("Net", money(roi.net, roi.currency), { "data-field": "net", class: roi.net < 0 ? "worse" : null }),
      fact("ROI", pct(roi.roiPct), { "data-field": "roiPct" }),
      fact("Payback", payback, { "data-field": "payback" }),
    ),
  );
}

const DECISIONS = { PROMOTE: "Promote", EXTEND: "Extend", STOP: "Stop" };

/** A pilot's decision (Project.recommendation) with its reason. */
function decisionBlock(slug, rec) {
  if (!rec) return null;
  return h(
    "p",
    { class: "decision", "data-decision": slug },
    h(
      "span",
      { class: `decision-badge decision-${rec.decision.toLowerCase()}`, "data-field": "decision" },
      DECISIONS[rec.decision] ?? rec.decision,
    ),
    " ",
    h("span", { class: "decision-reason", "data-field": "reason" }, rec.reason),
  );
}

function projectCard(p) {
  const kpis = [...p.kpis.values()];
  return h(
    "article",
    { class: "project", "data-project": p.slug, "aria-labelledby": `project-${p.slug}` },
    h(
      "header",
      { class: "project-head" },
      h("h3", { id: `project-${p.slug}` }, p.name),
      h("span", { class: `stage stage-${p.stage.toLowerCase()}` }, STAGES[p.stage] ?? p.stage),
    ),
    decisionBlock(p.slug, p.recommendation),
    kpis.length
      ? h("ul", { class: "kpis", "aria-label": `KPIs of ${p.name}` }, kpis.map(kpiItem))
      : h("p", { class: "spark-empty" }, "No KPIs tracked yet."),
    roiBlock(p.slug, p.roi),
  );
}

function renderAll(data) {
  currency = data.projects.find((p) => p.roi)?.roi.currency ?? currency;
  projects.clear();
  for (const p of data.projects) {
    projects.set(p.slug, { ...p, kpis: new Map(p.kpis.map((k) => [k.metric.key, k])) });
  }
  renderPortfolio(data.portfolio);
  const grid = $("#projects");
  grid.replaceChildren(...[...projects.values()].map(projectCard));
  grid.setAttribute("aria-busy", "false");
  const state = $("#load-state");
  state.hidden = projects.size > 0;
  state.removeAttribute("data-error");
  state.textContent = projects.size ? "" : "No projects yet.";
  loaded = true;
  document.body.dataset.loaded = "true";
}

function flash(el) {
  el.classList.add("flash");
  setTimeout(() => el.classList.remove("flash"), FLASH_MS);
}

function announce(text) {
  $("#announcer").textContent = text;
}

function cardOf(slug) {
  return document.querySelector(`[data-project="${CSS.escape(slug)}"]`);
}

// ---------------------------------------------------------------- API key (auth on)

let apiKey = sessionStorage.getItem(KEY_STORAGE);
/** Set while the page waits for a key: no retries until one is given. */
let waitingForKey = false;

class KeyNeeded extends Error {}

function authorization() {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

/** Shows the key form; `problem` says why the last key was refused. */
function askForKey(problem) {
  waitingForKey = true;
  setConnection("offline", "API key needed");
  const state = $("#load-state");
  state.hidden = false;
  state.dataset.error = "true";
  state.textContent = "Enter an API key to see the figures.";
  const form = $("#key-form");
  form.hidden = false;
  $("#key-problem").textContent = problem ?? "";
  $("#key-input").focus();
}

function onKeyGiven(event) {
  event.preventDefault();
  const value = $("#key-input").value.trim();
  if (!value) return;
  apiKey = value;
  sessionStorage.setItem(KEY_STORAGE, value);
  $("#key-input").value = "";
  $("#key-form").hidden = true;
  waitingForKey = false;
  $("#load-state").textContent = "Loading…";
  // A new connection, so that connection_init carries the key; it loads everything once connected.
  client?.dispose();
  client = connect();
}

/** A refused key is forgotten, so that a reload asks again instead of failing again. */
function keyRefused(problem) {
  if (apiKey) sessionStorage.removeItem(KEY_STORAGE);
  const hadKey = Boolean(apiKey);
  apiKey = null;
  askForKey(hadKey ? problem : null);
}

// ---------------------------------------------------------------- GraphQL over HTTP

async function gql(query, variables) {
  const res = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...authorization() },
    body: JSON.stringify({ query, variables }),
  });
  if (res.status === 401) {
    keyRefused("That key was not accepted (unknown or revoked).");
    throw new KeyNeeded("an API key is needed");
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: reported below with the status
  }
  if (!body?.data) throw new Error(body?.errors?.[0]?.message ?? `HTTP ${res.status}`);
  if (body.errors?.length) console.warn("GraphQL errors", body.errors);
  return body.data;
}

let loading = null;
let loadAgain = false;
let retryTimer = null;

/** The whole page from one query; calls during a load make one more load after it. */
function loadAll() {
  if (loading) {
    loadAgain = true;
    return loading;
  }
  loading = (async () => {
    do {
      loadAgain = false;
      try {
        const data = await gql(DASHBOARD_QUERY);
        clearTimeout(retryTimer);
        renderAll(data);
        // The query may have run before these events' commits: put them back (older ones are ignored).
        for (const kpi of early.splice(0)) applyKpi(kpi, false);
      } catch (e) {
        if (e instanceof KeyNeeded) break; // the key form is showing; no retry until a key is given
        const state = $("#load-state");
        state.hidden = false;
        state.dataset.error = "true";
        state.textContent = `Could not load the figures (${e.message}); trying again in a few seconds.`;
        clearTimeout(retryTimer);
        retryTimer = setTimeout(loadAll, LOAD_RETRY_MS);
      }
    } while (loadAgain);
  })().finally(() => {
    loading = null;
  });
  return loading;
}

// ROI and portfolio figures depend on every KPI of a project: re-read them after a burst of updates.
const dirty = new Set();
let refreshTimer = null;
let firstDirtyAt = 0;

function scheduleRefresh(slug) {
  if (dirty.size === 0) firstDirtyAt = Date.now();
  dirty.add(slug);
  clearTimeout(refreshTimer);
  const wait = Math.min(REFRESH_DEBOUNCE_MS, Math.max(0, firstDirtyAt + REFRESH_MAX_WAIT_MS - Date.now()));
  refreshTimer = setTimeout(refresh, wait);
}

async function refresh() {
  const slugs = [...dirty];
  dirty.clear();
  const vars = {};
  const decls = [];
  const fields = [];
  slugs.forEach((slug, i) => {
    vars[`s${i}`] = slug;
    decls.push(`$s${i}: String!`);
    fields.push(`p${i}: project(slug: $s${i}) { slug roi { ${ROI_FIELDS} } ${DECISION_FIELDS} }`);
  });
  const query = `query Refresh${decls.length ? `(${decls.join(", ")})` : ""} {
    portfolio { ${PORTFOLIO_FIELDS} } ${fields.join(" ")} }`;
  try {
    const data = await gql(query, vars);
    renderPortfolio(data.portfolio);
    slugs.forEach((_, i) => {
      const p = data[`p${i}`];
      const known = p && projects.get(p.slug);
      if (!known) return;
      known.roi = p.roi;
      cardOf(p.slug)?.querySelector(".roi")?.replaceWith(roiBlock(p.slug, p.roi));
      known.recommendation = p.recommendation;
      const shown = cardOf(p.slug)?.querySelector(".decision");
      const next = decisionBlock(p.slug, p.recommendation);
      if (shown && next) shown.replaceWith(next);
      else if (shown) shown.remove();
      else if (next) cardOf(p.slug)?.querySelector(".project-head")?.after(next);
    });
  } catch (e) {
    console.warn("refresh failed", e);
  }
}

// ---------------------------------------------------------------- live updates

/** Puts a recomputed KPI in place of the shown one, flashes it, and schedules the ROI refresh. */
function applyKpi(kpi, live = true) {
  if (live && (!loaded || loading)) early.push(kpi);
  if (!loaded) return;
  const project = projects.get(kpi.projectSlug);
  if (!project) {
    // A project created after the page loaded.
    loadAll();
    return;
  }
  const shown = project.kpis.get(kpi.metric.key);
  if (shown?.updatedAt && kpi.updatedAt && Date.parse(kpi.updatedAt) < Date.parse(shown.updatedAt)) return;
  project.kpis.set(kpi.metric.key, kpi);

  const card = cardOf(kpi.projectSlug);
  const old = card?.querySelector(`[data-kpi="${CSS.escape(`${kpi.projectSlug}/${kpi.metric.key}`)}"]`);
  const list = card?.querySelector(".kpis");
  const el = kpiItem(kpi);
  if (old) old.replaceWith(el);
  else if (list) list.append(el);
  else if (card) card.replaceWith(projectCard(project));
  if (live) {
    flash(el);
    announce(
      `${project.name}, ${kpi.metric.name}: now ${withUnit(kpi.current.value, kpi.metric.unit)}, ` +
        `improvement ${signedPct(kpi.improvementPct)}.`,
    );
  }
  scheduleRefresh(kpi.projectSlug);
}

function setConnection(state, text) {
  const el = $("#connection");
  el.dataset.state = state;
  el.textContent = text;
}

function connect() {
  const url = new URL("/graphql", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  let everConnected = false;
  const client = createClient({
    url: url.href,
    lazy: false,
    // The key travels in connection_init (browsers cannot set headers on a WebSocket).
    connectionParams: () => authorization(),
    // Reconnect for as long as the page is open, backing off to at most ~15 s between attempts; but not
    // with a refused key (4401 no or invalid key, 4403 revoked): the page asks for another one.
    retryAttempts: Number.MAX_SAFE_INTEGER,
    shouldRetry: (e) => !(e?.code === 4401 || e?.code === 4403),
    retryWait: (retries) =>
      new Promise((resolve) =>
        setTimeout(resolve, Math.min(1000 * 2 ** Math.min(retries, 4), 15_000) * (0.5 + Math.random() / 2)),
      ),
    onNonLazyError: () => {
      if (!waitingForKey) setConnection("offline", "Offline");
    },
    on: {
      connecting: (isRetry) => {
        if (everConnected || isRetry) setConnection("reconnecting", "Reconnecting…");
      },
      connected: () => {
        setConnection("live", "Live");
        // Read everything once the subscription is up, and again after a reconnect: updates may have
        // been missed while the connection was down.
        everConnected = true;
        loadAll();
      },
      closed: (e) => {
        if (e?.code === 4401 || e?.code === 4403) {
          keyRefused(
            e.code === 4403 ? "That key was revoked." : "That key was not accepted (unknown or revoked).",
          );
        } else if (everConnected) setConnection("reconnecting", "Reconnecting…");
      },
    },
  });
  client.subscribe(
    { query: KPI_SUBSCRIPTION },
    {
      next: (result) => {
        if (result.data?.kpiUpdated) applyKpi(result.data.kpiUpdated);
        else if (result.errors) console.warn("kpiUpdated errors", result.errors);
      },
      error: (e) => {
        if (waitingForKey) return; // the socket was refused for its key: the form is showing
        console.warn("kpiUpdated ended with an error", e);
        setConnection("offline", "Live updates stopped; reload the page");
      },
      complete: () => undefined,
    },
  );
  return client;
}

$("#key-form").addEventListener("submit", onKeyGiven);
let client = connect();
// Without a WebSocket (a proxy that refuses upgrades) the page still shows the figures, just not live.
setTimeout(() => {
  if (!loaded && !loading && !waitingForKey) loadAll();
}, WS_FALLBACK_MS);
