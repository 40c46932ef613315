import {
  type DocumentNode,
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLInputObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  isInputObjectType,
  isNonNullType,
  Kind,
  type OperationDefinitionNode,
  type TypeNode,
  type VariableDefinitionNode,
} from "graphql";

// Coercing the variables of a 5,000-item recordObservations body cost graphql-js ~20 ms of CPU (its
// generic coerceInputValue: a path object per field, a null-prototype copy per item), as much as the
// rest of the request together. For the one shape that matters (a mutation whose `[ObservationInput!]!`
// variable feeds recordObservations) this module coerces the list itself, by the same rules, and hands
// graphql-js the result as already coerced; everything else (execution, access rules, resolvers, error
// paths, non-null propagation) stays graphql-js's. Anything the fast check does not accept as plainly
// valid goes the ordinary way, so every refusal carries graphql-js's own message and code.

const INPUT_TYPE = "ObservationInput";
/** Known only to the execution schema below: never in the public schema, so no document can name it. */
const COERCED_TYPE = "UpliftCoercedObservationInputList";

/** Lists coerced here rather than by graphql-js (tests). */
export const coercionStats = { lists: 0 };

/** Lists this module coerced; the internal scalar takes nothing else. */
const coerced = new WeakSet<object>();

const CoercedList = new GraphQLScalarType({
  name: COERCED_TYPE,
  parseValue(value) {
    if (typeof value !== "object" || value === null || !coerced.has(value))
      throw new GraphQLError("internal: not a coerced observation list");
    return value;
  },
  parseLiteral() {
    throw new GraphQLError("internal: not a coerced observation list");
  },
});

/** `[ObservationInput!]!` */
function isObservationList(t: TypeNode): boolean {
  return (
    t.kind === Kind.NON_NULL_TYPE &&
    t.type.kind === Kind.LIST_TYPE &&
    t.type.type.kind === Kind.NON_NULL_TYPE &&
    t.type.type.type.kind === Kind.NAMED_TYPE &&
    t.type.type.type.name.value === INPUT_TYPE
  );
}

type Leaf = (v: unknown) => unknown;
interface FieldRule {
  name: string;
  required: boolean;
  /** The field's default when absent (undefined: none). */
  defaultValue: unknown;
  /** The scalar's parseValue; throws on a bad value. */
  parse: Leaf;
}

/** The fields of ObservationInput as the schema defines them (names, nullability, defaults, scalars). */
function rulesOf(type: GraphQLInputObjectType): FieldRule[] | null {
  const rules: FieldRule[] = [];
  for (const f of Object.values(type.getFields())) {
    const required = isNonNullType(f.type);
    const t = isNonNullType(f.type) ? f.type.ofType : f.type;
    if (!(t instanceof GraphQLScalarType)) return null; // a nested type: not this module's shape
    const scalar = t;
    rules.push({
      name: f.name,
      required,
      defaultValue: f.defaultValue,
      parse: (v) => scalar.parseValue(v),
    });
  }
  return rules;
}

/**
 * The items coerced as graphql-js would, or null when any item is not plainly valid (a missing or
 * unknown field, a wrong type, a value a scalar refuses): graphql-js then coerces and reports.
 */
export function coerceObservations(value: unknown, rules: readonly FieldRule[]): object[] | null {
  if (!Array.isArray(value)) return null;
  const known = new Set(rules.map((r) => r.name));
  const out = new Array<object>(value.length);
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (typeof item !== "object" || item === null || Array.isArray(item)) return null;
    const o = item as Record<string, unknown>;
    let present = 0;
    for (const k in o) {
      if (!Object.hasOwn(o, k)) continue;
      if (!known.has(k)) return null;
      present++;
    }
    const c: Record<string, unknown> = {};
    let seen = 0;
    for (const r of rules) {
      const v = o[r.name];
      if (v === undefined) {
        if (Object.hasOwn(o, r.name)) seen++; // JSON cannot carry undefined; counted as present
        if (r.defaultValue !== undefined) c[r.name] = r.defaultValue;
        else if (r.required) return null;
        continue;
      }
      seen++;
      if (v === null) {
        if (r.required) return null;
        c[r.name] = null;
        continue;
      }
      try {
        const p = r.parse(v);
        if (p === undefined) return null; // graphql-js refuses an undefined result
        c[r.name] = p;
      } catch {
        return null;
      }
    }
    if (seen !== present) return null;
    out[i] = c;
  }
  coerced.add(out);
  coercionStats.lists++;
  return out;
}

/** The operation a request runs (by name, or the only one), as graphql-js picks it. */
function pickOperation(doc: DocumentNode, name: string | null | undefined): OperationDefinitionNode | null {
  let found: OperationDefinitionNode | null = null;
  for (const d of doc.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION) continue;
    if (name == null) {
      if (found) return null;
      found = d;
    } else if (d.name?.value === name) found = d;
  }
  return found;
}

/** The variable (if any) whose raw value this module may coerce: `$x: [ObservationInput!]!`, no default. */
function observationVariable(op: OperationDefinitionNode): VariableDefinitionNode | null {
  if (op.operation !== "mutation") return null;
  const defs = op.variableDefinitions ?? [];
  let found: VariableDefinitionNode | null = null;
  for (const d of defs) {
    if (!isObservationList(d.type) || d.defaultValue || d.directives?.length) continue;
    if (found) return null; // two such variables: the ordinary path
    found = d;
  }
  return found;
}

export interface ExecuteArgs {
  schema: GraphQLSchema;
  document: DocumentNode;
  contextValue: unknown;
  variableValues?: Record<string, unknown> | null;
  operationName?: string | null;
}

/**
 * An `execute` for the API: graphql-js's own, except that an `[ObservationInput!]!` variable of a
 * mutation is coerced here when it is plainly valid (the document is run with the variable's type
 * swapped for an internal scalar that passes the coerced list through, on a schema that shares every
 * type and resolver with the public one).
 */
export function observationAwareExecute(
  publicSchema: GraphQLSchema,
): (args: ExecuteArgs) => Promise<ExecutionResult> | ExecutionResult {
  const input = publicSchema.getType(INPUT_TYPE);
  const rules = input && isInputObjectType(input) ? rulesOf(input) : null;
  const config = publicSchema.toConfig();
  const execSchema = rules ? new GraphQLSchema({ ...config, types: [...config.types, CoercedList] }) : null;
  const swapped = new WeakMap<VariableDefinitionNode, DocumentNode>();

  return (args) => {
    const op = execSchema && rules ? pickOperation(args.document, args.operationName) : null;
    const def = op ? observationVariable(op) : null;
    const vars = args.variableValues;
    if (!def || !vars || !execSchema || !rules) return execute(args);
    const name = def.variable.name.value;
    const list = coerceObservations(vars[name], rules);
    if (!list) return execute(args);
    let doc = swapped.get(def);
    if (!doc) {
      doc = swapVariableType(args.document, def);
      swapped.set(def, doc);
    }
    return execute({ ...args, schema: execSchema, document: doc, variableValues: { ...vars, [name]: list } });
  };
}

/** The document with one variable definition's type replaced by the internal scalar (non-null). */
function swapVariableType(doc: DocumentNode, def: VariableDefinitionNode): DocumentNode {
  const type: TypeNode = {
    kind: Kind.NON_NULL_TYPE,
    type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: COERCED_TYPE } },
  };
  return {
    ...doc,
    definitions: doc.definitions.map((d) =>
      d.kind === Kind.OPERATION_DEFINITION && d.variableDefinitions?.includes(def)
        ? { ...d, variableDefinitions: d.variableDefinitions.map((v) => (v === def ? { ...v, type } : v)) }
        : d,
    ),
  };
}
