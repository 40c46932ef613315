// Who is asking. Every request (HTTP, WebSocket operation, REST route) carries one; resolvers, REST
// routes and the audit log read it. With auth off everyone acts as OPEN_PRINCIPAL.

export type Role = "reader" | "writer" | "admin";

export interface Principal {
  /** The API key's name, `admin-token`, or `anonymous` (auth off). Never a secret. */
  actor: string;
  role: Role;
  /** Project slugs the credential may see; null = every project. */
  projects: readonly string[] | null;
}

export const OPEN_PRINCIPAL: Principal = Object.freeze({ actor: "anonymous", role: "admin", projects: null });
