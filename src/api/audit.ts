import type { AuditSource } from "../store/audit.js";
import type { Context } from "./context.js";

/** The audit log's source of a mutation: who asks (the principal's actor) and the mutation's name. */
export function auditBy(ctx: Context, action: string): AuditSource {
  return { actor: ctx.principal.actor, action };
}
