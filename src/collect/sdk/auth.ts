import { z } from "zod";
import { type Auth, basicAuth, bearerAuth } from "../http-client.js";

// Credentials in collector options: either Basic (a user and a secret) or Bearer (a token), checked
// once at start-up with messages that name the option to fix.

/** `auth: { type: basic, username, password } | { type: bearer, token }` (generic collectors). */
export const authOption = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("basic"), username: z.string(), password: z.string() }),
  z.strictObject({ type: z.literal("bearer"), token: z.string().min(1) }),
]);

/** The option names of a vendor's Basic pair and Bearer token, e.g. email/apiToken/token. */
export interface CredentialKeys {
  user: string;
  secret: string;
  token: string;
}

/** A superRefine: exactly one of Basic (both `user` and `secret`) or Bearer (`token`). */
export function requireBasicOrBearer(k: CredentialKeys) {
  return (o: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const has = (key: string) => o[key] !== undefined;
    const basic = has(k.user) || has(k.secret);
    const issue = (path: string[], message: string) => ctx.addIssue({ code: "custom", path, message });
    if (basic && has(k.token))
      issue([k.token], `give either ${k.user} and ${k.secret} (Basic) or ${k.token} (Bearer), not both`);
    else if (!basic && !has(k.token))
      issue([], `credentials are required: ${k.user} and ${k.secret} (Basic) or ${k.token} (Bearer)`);
    else if (basic && !has(k.user)) issue([k.user], `is required with ${k.secret}`);
    else if (basic && !has(k.secret)) issue([k.secret], `is required with ${k.user}`);
  };
}

/** The Auth of options checked by requireBasicOrBearer. */
export function authOf(o: Record<string, unknown>, k: CredentialKeys): Auth {
  return o[k.token] !== undefined
    ? bearerAuth(String(o[k.token]))
    : basicAuth(String(o[k.user]), String(o[k.secret]));
}

/** The optional options of a vendor's Basic pair and Bearer token, to spread into its option schema. */
export function basicOrBearerOptions<const K extends CredentialKeys>(k: K) {
  const credential = z.string().min(1).optional();
  return { [k.user]: credential, [k.secret]: credential, [k.token]: credential } as Record<
    K["user"] | K["secret"] | K["token"],
    typeof credential
  >;
}
