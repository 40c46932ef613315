// Which observations are BEFORE and which are AFTER (contract "Phases"). A null bound is unbounded;
// `before: null` means the baseline is empty.
export interface PhaseWindow {
  from: Date | null;
  to: Date | null;
}

export interface KpiWindows {
  before: PhaseWindow | null;
  after: PhaseWindow;
}

export interface WindowSettings {
  baselineFrom: Date | null;
  baselineTo: Date | null;
  afterFrom: Date | null;
  afterTo: Date | null;
}

/**
 * Defaults: baselineTo = goLiveAt, afterFrom = goLiveAt. Without either, the baseline is empty and every
 * observation is AFTER. Our reading where the contract is silent: with an explicit `baselineTo` and no
 * go-live, AFTER starts at `baselineTo` (an observation must not count in both phases by default).
 */
export function resolveWindows(k: WindowSettings, goLiveAt: Date | null): KpiWindows {
  const beforeTo = k.baselineTo ?? goLiveAt;
  return {
    before: beforeTo ? { from: k.baselineFrom, to: beforeTo } : null,
    after: { from: k.afterFrom ?? goLiveAt ?? k.baselineTo, to: k.afterTo },
  };
}

export function inWindow(w: PhaseWindow | null, t: Date): boolean {
  if (!w) return false;
  return (w.from === null || t >= w.from) && (w.to === null || t < w.to);
}
