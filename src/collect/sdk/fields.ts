import { z } from "zod";
import type { RawFields } from "./read.js";

// The mapping of a generic collector (csv's columns, http-json's JSONPaths): where each field of an
// observation comes from, in one shape, so that every generic collector names its fields alike.

export interface FieldMap<S> {
  observedAt: S;
  value: S;
  externalId: S;
  weight?: S | undefined;
  dimensions?: Record<string, S> | undefined;
}

/** The option `{ observedAt, value, externalId, weight?, dimensions? }`, each field a `spec`. */
export function fieldMapOption<T extends z.ZodType>(spec: T) {
  return z.strictObject({
    observedAt: spec,
    value: spec,
    externalId: spec,
    weight: spec.optional(),
    dimensions: z.record(z.string().min(1).max(64), spec).optional(),
  });
}

/** Every mapped field as [name, spec], a dimension as `dimensions.<name>`: ["dimensions.team", 4]. */
export function fieldEntries<S>(f: FieldMap<S>): [string, S][] {
  const out: [string, S][] = [
    ["observedAt", f.observedAt],
    ["value", f.value],
    ["externalId", f.externalId],
  ];
  if (f.weight !== undefined) out.push(["weight", f.weight]);
  for (const [name, spec] of Object.entries(f.dimensions ?? {})) out.push([`dimensions.${name}`, spec]);
  return out;
}

/** One source record's raw fields, for readObservation: `get` reads a field by its spec and name. */
export function rawFieldsOf<S>(f: FieldMap<S>, get: (spec: S, name: string) => unknown): RawFields {
  const dims = Object.entries(f.dimensions ?? {});
  return {
    externalId: get(f.externalId, "externalId"),
    value: get(f.value, "value"),
    observedAt: get(f.observedAt, "observedAt"),
    weight: f.weight === undefined ? undefined : get(f.weight, "weight"),
    dimensions: Object.fromEntries(dims.map(([name, spec]) => [name, get(spec, `dimensions.${name}`)])),
  };
}
