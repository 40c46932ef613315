import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import { recordObservations } from "../../store/observations.js";
import type { Context } from "../context.js";
import { ObservationInput } from "../inputs/observation.js";
import { RecordResultType } from "../types/collector.js";

@Resolver()
export class ObservationResolver {
  @Mutation(() => RecordResultType)
  async recordObservations(
    @Ctx() ctx: Context,
    @Arg("input", () => [ObservationInput]) input: ObservationInput[],
  ): Promise<RecordResultType> {
    // The write announces itself (NOTIFY in its transaction), so subscribers hear of it on commit.
    const result = await recordObservations(ctx.ds, input);
    return { inserted: result.inserted, updated: result.updated };
  }
}
