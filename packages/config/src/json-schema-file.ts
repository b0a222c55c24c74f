import { configJsonSchema } from "./schema.ts";

/** The published JSON Schema file's exact text (what scripts/gen-schema.ts writes). */
export function configJsonSchemaText(): string {
  const schema = {
    $id: "https://talos-ext.dev/schemas/talos-ext.schema.json",
    title: "talos-ext.yaml",
    ...configJsonSchema(),
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}
