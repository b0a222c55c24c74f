/**
 * Writes the editor JSON Schemas to packages/spec/schemas/<name>.schema.json.
 * Run with plain Node (type stripping): `node scripts/gen-schemas.ts`, or `pnpm gen:schemas`.
 * A test fails when the committed files differ from what this writes, so re-run it after changing a schema.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { jsonSchemaFiles } from "../src/schema/json-schema.ts";

const dir = fileURLToPath(new URL("../schemas/", import.meta.url));
mkdirSync(dir, { recursive: true });
for (const [name, text] of Object.entries(jsonSchemaFiles())) {
  const target = join(dir, name);
  // Never leave a half-written schema behind: write next to the target, then rename over it.
  const temp = `${target}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, target);
  console.log(`wrote ${target}`);
}
