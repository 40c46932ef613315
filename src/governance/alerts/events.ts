import type { DataSource } from "typeorm";
import type { AlertKind } from "../../store/alerts.js";

export type DeliveryState = "PENDING" | "DELIVERED" | "FAILED" | "NO_WEBHOOK";

/** An alert event as the API, the subscription and the webhook body show it. */
export interface AlertEvent {
  id: string;
  rule: string;
  kind: AlertKind;
  projectSlug: string | null;
  metricKey: string | null;
  collector: string | null;
  firedAt: Date;
  message: string;
  delivery: DeliveryState;
  attempts: number;
}

export { ALERTS_CHANNEL } from "../../store/changes.js";

export const EVENT_COLUMNS = `id::text AS id, rule_name AS rule, kind, project_slug AS "projectSlug",
  metric_key AS "metricKey", collector, fired_at AS "firedAt", message, delivery, attempts`;

/** Newest first. */
export async function listAlertEvents(ds: DataSource, first: number): Promise<AlertEvent[]> {
  return ds.query(`SELECT ${EVENT_COLUMNS} FROM alert_event ORDER BY fired_at DESC, seq DESC LIMIT $1`, [
    first,
  ]);
}

/** The NOTIFY payload back to an event (dates travel as strings). */
export function reviveEvent(payload: string): AlertEvent | null {
  try {
    const e = JSON.parse(payload);
    return { ...e, firedAt: new Date(e.firedAt) };
  } catch {
    return null;
  }
}
