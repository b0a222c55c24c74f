/**
 * Writes schemas/talos-ext.schema.json from the zod schema: `pnpm gen:schema`. A test fails when
 * the committed file differs, so re-run it after changing the schema.
 */
import { renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configJsonSchemaText } from "../src/json-schema-file.ts";

const target = fileURLToPath(new URL("../schemas/talos-ext.schema.json", import.meta.url));
const temp = `${target}.${process.pid}.tmp`;
writeFileSync(temp, configJsonSchemaText());
renameSync(temp, target);
console.log(`wrote ${target}`);
