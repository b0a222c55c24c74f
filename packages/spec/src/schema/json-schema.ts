/**
 * JSON Schemas for editors (yaml-language-server and friends), generated from the zod schemas so
 * they cannot drift. They describe the *input* side: what may be written, in the types a YAML 1.2
 * parser produces (`yes` is a string, `1.10` a number, both fine for a text field). Go validation
 * rules that JSON Schema cannot express (checksum lengths, "exactly one of image or stage") are
 * left to `talos-ext lint`.
 */
import { z } from "zod";
import { extensionServiceConfigSchema } from "./extension-service-config.ts";
import { RUNTIME_ONLY } from "./go.ts";
import { manifestSchema } from "./manifest.ts";
import { pkgSchema } from "./pkg.ts";
import { pkgfileSchema, varsSchema } from "./pkgfile.ts";
import { serviceSpecSchema } from "./service.ts";

/** A file kind we generate a JSON Schema for (editors complete and validate from it). */
export type JsonSchemaName = "pkgfile" | "pkg" | "vars" | "manifest" | "service" | "extension-service-config";

interface Entry {
  schema: z.ZodType;
  title: string;
  description: string;
}

const ENTRIES: Record<JsonSchemaName, Entry> = {
  pkgfile: {
    schema: pkgfileSchema,
    title: "bldr Pkgfile (v1alpha2)",
    description:
      "The Pkgfile at the root of a bldr package tree. Its first line, `# syntax = <bldr image>`, is a BuildKit directive and a YAML comment.",
  },
  pkg: {
    schema: pkgSchema,
    title: "bldr pkg.yaml (v1alpha2)",
    description:
      "One package of a bldr tree, after Go-template rendering. bldr ignores unknown keys; talos-ext lint warns about them.",
  },
  vars: {
    schema: varsSchema,
    title: "bldr vars.yaml",
    description:
      "Template variables, after Go-template rendering: a flat mapping of scalars, each kept as text.",
  },
  manifest: {
    schema: manifestSchema,
    title: "Talos system extension manifest.yaml",
    description: "The manifest at the root of a Talos system extension image.",
  },
  service: {
    schema: serviceSpecSchema,
    title: "Talos extension service spec",
    description:
      "An extension service, /usr/local/etc/containers/<file>.yaml in the extension rootfs. Talos ignores unknown keys.",
  },
  "extension-service-config": {
    schema: extensionServiceConfigSchema,
    title: "Talos ExtensionServiceConfig document",
    description:
      "A machine-config document with config files and environment for an extension service. Talos rejects unknown keys.",
  },
};

/** The names of every JSON Schema we generate (one per file kind). */
export const JSON_SCHEMA_NAMES = Object.keys(ENTRIES) as JsonSchemaName[];

/** The `$id` of a generated schema. */
export const jsonSchemaId = (name: JsonSchemaName) => `urn:talos-ext:schema:${name}`;

// Drops union members that only the runtime decoder needs (see RUNTIME_ONLY) and unwraps a
// union left with one member, so editors see just the forms a user should write.
function prune(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(prune);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if ((key === "anyOf" || key === "oneOf") && Array.isArray(value)) {
      const kept = value.filter((v) => !(v && typeof v === "object" && RUNTIME_ONLY in v)).map(prune);
      if (kept.length === 1 && isPlainObject(kept[0])) Object.assign(out, kept[0]);
      else out[key] = kept;
      continue;
    }
    out[key] = prune(value);
  }
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

function generate(name: JsonSchemaName): Record<string, unknown> {
  const entry = ENTRIES[name];
  const body = prune(
    z.toJSONSchema(entry.schema, { io: "input", target: "draft-2020-12", unrepresentable: "any" }),
  ) as Record<string, unknown>;
  const { $schema, ...rest } = body;
  return { $schema, $id: jsonSchemaId(name), title: entry.title, description: entry.description, ...rest };
}

/** Every JSON Schema, by name. */
export function jsonSchemas(): Record<JsonSchemaName, object> {
  return Object.fromEntries(JSON_SCHEMA_NAMES.map((n) => [n, generate(n)])) as Record<JsonSchemaName, object>;
}

/** The files `scripts/gen-schemas.ts` writes under `packages/spec/schemas/`, name → exact text. */
export function jsonSchemaFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, schema] of Object.entries(jsonSchemas())) {
    out[`${name}.schema.json`] = `${JSON.stringify(schema, null, 2)}\n`;
  }
  return out;
}
