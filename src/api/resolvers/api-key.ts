import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { createApiKey, listApiKeys, revokeApiKey } from "../../store/api-keys.js";
import type { Context } from "../context.js";
import { ApiKeyType, CreateApiKeyInput, CreatedApiKeyType } from "../types/api-key.js";

// Roles are checked for every operation in src/api/access-rules.ts (these are admin-only).
@Resolver()
export class ApiKeyResolver {
  @Query(() => [ApiKeyType], { description: "admin" })
  apiKeys(@Ctx() ctx: Context): Promise<ApiKeyType[]> {
    return listApiKeys(ctx.ds);
  }

  @Mutation(() => CreatedApiKeyType, { description: "admin; the secret is returned once and never again" })
  createApiKey(
    @Ctx() ctx: Context,
    @Arg("input", () => CreateApiKeyInput) input: CreateApiKeyInput,
  ): Promise<CreatedApiKeyType> {
    return createApiKey(ctx.ds, input, { actor: ctx.principal.actor, action: "createApiKey" });
  }

  @Mutation(() => Boolean, { description: "admin; false when no key has that name" })
  revokeApiKey(@Ctx() ctx: Context, @Arg("name", () => String) name: string): Promise<boolean> {
    return revokeApiKey(ctx.ds, name, { actor: ctx.principal.actor, action: "revokeApiKey" });
  }
}
