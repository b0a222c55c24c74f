/**
 * Runs a Go-flavoured zod schema over a decoded YAML document and turns every finding into a
 * `Diagnostic` with a stable code and the `file:line:col` of the offending key or value.
 *
 * Two passes: zod parses and validates (types, enums, the Go `Validate()` rules), and a walk over
 * schema and document together finds what zod cannot see: unknown keys (ignored by bldr and Talos,
 * so only we can warn about typos) and quoted scalars that Go refuses for a bool or an int.
 */
import type { z } from "zod";
import { type Diagnostic, diagnostic, didYouMean, hasErrors } from "../errors.ts";
import type { DecodedYaml, YamlPath } from "../yaml/decode.ts";
import { type GoMeta, goMeta, isRecord, unmarshalMessage } from "./go.ts";

/** What every `decode*` function returns: `value` is `undefined` exactly when there is an error diagnostic. */
export interface DecodeResult<T> {
  /** The decoded document; `undefined` when any diagnostic is an error. */
  value: T | undefined;
  /** Every finding of decode and validation, errors and warnings, with positions in the file. */
  diagnostics: Diagnostic[];
}

type Schema = z.core.$ZodType;

interface LooseDef {
  type: string;
  innerType?: Schema;
  in?: Schema;
  out?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
}

const defOf = (s: Schema) => s._zod.def as unknown as LooseDef;

/** Steps through wrappers (optional, default, preprocess…) to the node that carries Go facts or holds children. */
function resolve(schema: Schema): { node: Schema; meta: GoMeta | undefined } {
  let node = schema;
  for (let guard = 0; guard < 64; guard++) {
    const meta = goMeta.get(node as z.ZodType);
    if (meta) return { node, meta };
    const def = defOf(node);
    let next: Schema | undefined;
    switch (def.type) {
      case "optional":
      case "nullable":
      case "default":
      case "prefault":
      case "nonoptional":
      case "readonly":
      case "catch":
        next = def.innerType;
        break;
      case "pipe":
        // The input side describes what the user wrote; a leading transform is a preprocess step.
        next = def.in?._zod.traits.has("$ZodTransform") ? def.out : def.in;
        break;
    }
    if (!next) return { node, meta: undefined };
    node = next;
  }
  return { node, meta: undefined };
}

function child(node: Schema, key: string | number): Schema | undefined {
  const def = defOf(node);
  if (def.type === "object" && typeof key === "string") {
    return def.shape && Object.hasOwn(def.shape, key) ? def.shape[key] : undefined;
  }
  if (def.type === "array" && typeof key === "number") return def.element;
  if (def.type === "record") return def.valueType;
  return undefined;
}

function metaAt(root: Schema, path: readonly PropertyKey[]): GoMeta | undefined {
  let current = resolve(root);
  for (const key of path) {
    if (typeof key === "symbol") return undefined;
    const next = child(current.node, key);
    if (!next) return undefined;
    current = resolve(next);
  }
  return current.meta;
}

const isCollection = (v: unknown) => v !== null && typeof v === "object";

const GENERIC_TYPE_HINT = "change the value to the type this key expects";

function issueToDiagnostic(root: Schema, issue: z.core.$ZodIssue, doc: DecodedYaml): Diagnostic | undefined {
  // Unknown keys are reported (with a "did you mean") by the walk, for strict and lenient structs alike.
  if (issue.code === "unrecognized_keys") return undefined;
  const path = issue.path.filter((k): k is string | number => typeof k !== "symbol");
  const params = issue.code === "custom" ? (issue.params as Record<string, unknown> | undefined) : undefined;
  if (params && typeof params.code === "string") {
    const at = params.at === "key" ? "key" : "value";
    return diagnostic(params.code, params.severity === "warning" ? "warning" : "error", issue.message, {
      hint: typeof params.hint === "string" ? params.hint : undefined,
      location: doc.locate(path, at),
    });
  }
  const meta = metaAt(root, path);
  const input = (issue as { input?: unknown }).input;
  const location = doc.locate(path, "value");
  if (meta && (meta.kind !== "enum" || isCollection(input))) {
    const goType = meta.kind === "enum" ? "string" : meta.goType;
    return diagnostic("SCHEMA_INVALID_TYPE", "error", unmarshalMessage(input, goType, doc.isQuoted(path)), {
      hint: meta.kind === "enum" ? "write a single value here" : (meta.hint ?? GENERIC_TYPE_HINT),
      location,
    });
  }
  if (meta?.reportedByParent) return undefined;
  return diagnostic(meta?.valueCode ?? "SCHEMA_INVALID_VALUE", "error", issue.message, {
    hint: meta?.valueHint ?? GENERIC_TYPE_HINT,
    location,
  });
}

/** The walk: unknown keys and Go's refusal of some quoted scalars. */
function inspect(
  schema: Schema,
  value: unknown,
  path: (string | number)[],
  doc: DecodedYaml,
  out: Diagnostic[],
): void {
  const { node, meta } = resolve(schema);
  if (meta?.kind === "scalar" || meta?.kind === "enum") {
    if (typeof value === "string" && meta.rejectQuoted?.(value) && doc.isQuoted(path)) {
      out.push(
        diagnostic("SCHEMA_INVALID_TYPE", "error", unmarshalMessage(value, meta.goType, true), {
          hint:
            "remove the quotes: a quoted value is a string to Go, and Go does not turn that string into a " +
            meta.goType,
          location: doc.locate(path, "value"),
        }),
      );
    }
    return;
  }
  const def = defOf(node);
  if (def.type === "object" && def.shape && isRecord(value)) {
    const known = Object.keys(def.shape);
    for (const [key, v] of Object.entries(value)) {
      if (Object.hasOwn(def.shape, key)) {
        inspect(def.shape[key]!, v, [...path, key], doc, out);
        continue;
      }
      out.push(unknownKey(key, known, meta, doc.locate([...path, key], "key")));
    }
  } else if (def.type === "array" && def.element && Array.isArray(value)) {
    value.forEach((item, i) => {
      inspect(def.element!, item, [...path, i], doc, out);
    });
  } else if (def.type === "record" && def.valueType && isRecord(value)) {
    for (const [key, v] of Object.entries(value)) inspect(def.valueType, v, [...path, key], doc, out);
  }
}

function unknownKey(
  key: string,
  known: string[],
  meta: GoMeta | undefined,
  location: ReturnType<DecodedYaml["locate"]>,
) {
  const label = meta?.label ?? "this mapping";
  const owner = meta?.owner ?? "the decoder";
  const suggestion = didYouMean(key, known);
  const hint =
    suggestion !== undefined ? `did you mean "${suggestion}"?` : `known keys here: ${known.join(", ")}`;
  if (meta?.strict) {
    return diagnostic(
      "SCHEMA_UNKNOWN_KEY",
      "error",
      `unknown key "${key}" in ${label}: ${owner} rejects unknown keys here`,
      {
        hint,
        location,
      },
    );
  }
  return diagnostic(
    "SCHEMA_UNKNOWN_KEY",
    "warning",
    `unknown key "${key}" in ${label} is ignored by ${owner}`,
    {
      hint,
      location,
    },
  );
}

const byPosition = (a: Diagnostic, b: Diagnostic) =>
  (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);

/** Decodes `doc` with `schema`; findings come back ordered by position in the file. */
export function decodeWithSchema<S extends z.ZodType>(
  schema: S,
  doc: DecodedYaml,
): DecodeResult<z.output<S>> {
  const diagnostics: Diagnostic[] = [];
  const parsed = schema.safeParse(doc.value, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const d = issueToDiagnostic(schema, issue, doc);
      if (d) diagnostics.push(d);
    }
  }
  inspect(schema, doc.value, [], doc, diagnostics);
  if (!parsed.success && !hasErrors(diagnostics)) {
    // Not expected: every zod issue maps to an error above. Keep the contract anyway.
    const first = parsed.error.issues[0];
    diagnostics.push(
      diagnostic("SCHEMA_INVALID_VALUE", "error", first?.message ?? "invalid document", {
        hint: GENERIC_TYPE_HINT,
        location: doc.locate((first?.path ?? []) as YamlPath),
      }),
    );
  }
  diagnostics.sort(byPosition);
  return { value: parsed.success && !hasErrors(diagnostics) ? parsed.data : undefined, diagnostics };
}
