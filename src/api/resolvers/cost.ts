import { Arg, Ctx, FieldResolver, Float, Mutation, Resolver, Root } from "type-graphql";
import type { CostRow } from "../../db/entities/cost.js";
import { cents } from "../../kpi/money.js";
import { addCost } from "../../store/costs.js";
import { auditBy } from "../audit.js";
import type { Context } from "../context.js";
import { AddCostInput } from "../inputs/cost.js";
import { CostType } from "../types/cost.js";

@Resolver(() => CostType)
export class CostResolver {
  @Mutation(() => CostType)
  async addCost(
    @Ctx() ctx: Context,
    @Arg("input", () => AddCostInput) input: AddCostInput,
  ): Promise<CostRow> {
    const cost = await addCost(ctx.ds, input, "input", auditBy(ctx, "addCost"));
    await ctx.events.changed({ projectIds: [String(cost.projectId)] });
    return cost;
  }

  /** Stored exactly; answered in cents (contract "Money"). */
  @FieldResolver(() => Float)
  amount(@Root() c: CostRow): number {
    return cents(c.amount);
  }
}
