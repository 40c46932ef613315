import type { Principal, Role } from "./principal.js";

// Each role includes the one before it: reader < writer < admin.
const RANK: Record<Role, number> = { reader: 1, writer: 2, admin: 3 };

export function hasRole(p: Principal, role: Role): boolean {
  return RANK[p.role] >= RANK[role];
}

/** A key scoped to projects sees only those; an unscoped one sees all. */
export function canSeeProject(p: Principal, slug: string): boolean {
  return p.projects === null || p.projects.includes(slug);
}
