import type { GraphQLFieldResolver } from "graphql";
import { Arg, Ctx, Mutation, Resolver } from "type-graphql";
import { recordObservations, type ObservationInput as StoredInput } from "../../store/observations.js";
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
    return record(ctx, input);
  }
}

async function record(ctx: Context, input: StoredInput[]): Promise<RecordResultType> {
  // The write announces itself (NOTIFY in its transaction), so subscribers hear of it on commit.
  const result = await recordObservations(ctx.ds, input);
  return { inserted: result.inserted, updated: result.updated };
}

/**
 * The field's resolver as schema.ts installs it: the items as GraphQL coerced them (plain objects, dates
 * already parsed), without type-graphql turning each of up to 10,000 items into a class instance first;
 * the store reads fields, not classes.
 */
export const resolveRecordObservations: GraphQLFieldResolver<unknown, Context, { input: StoredInput[] }> = (
  _root,
  args,
  ctx,
) => record(ctx, args.input);
