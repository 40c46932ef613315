import "reflect-metadata";
import { buildUpliftSchema, writeSchemaFile } from "../api/schema.js";
import { SCHEMA_FILE } from "../paths.js";

// `npm run schema`: writes the served schema to schema.graphql (a test fails when they differ).
writeSchemaFile(await buildUpliftSchema(), SCHEMA_FILE);
process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
