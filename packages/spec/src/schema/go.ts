/**
 * Zod building blocks that decode YAML the way Go's yaml.v3/v4 decodes into typed structs.
 *
 * Input is the plain data of `decodeYaml` (every scalar is its literal text, null-like scalars are
 * `null`). Each block mirrors one Go type: a `string` keeps any scalar's text, a `bool` takes the
 * Go forms only, a struct turns `null` into its zero value, and so on. The *input* side of each
 * block is also what the generated JSON Schemas describe, so it is written in the types an editor
 * sees (YAML 1.2: `true` is a boolean, `1.10` a number).
 *
 * Facts a decoder needs beyond zod's own checks (the Go type name for "cannot unmarshal" messages,
 * whether a quoted scalar is refused, who ignores unknown keys) live in the private `goMeta`
 * registry, keyed by the schema node, and are read back by `engine.ts`.
 */
import { z } from "zod";
import { goQuote } from "../go-quote.ts";

export type GoKind = "scalar" | "enum" | "list" | "map" | "struct";

export interface GoMeta {
  kind: GoKind;
  /** Go type as printed in `cannot unmarshal !!seq into <goType>`. */
  goType: string;
  /** What to do about a wrong YAML kind here. */
  hint?: string;
  /** Code and hint for a scalar that decodes but is not an allowed value (enums). */
  valueCode?: string;
  valueHint?: string;
  /** The enclosing struct reports bad values of this field itself (its message needs sibling fields). */
  reportedByParent?: boolean;
  /** A quoted scalar is a `!!str` to Go: true when Go refuses this quoted text although its plain form is fine. */
  rejectQuoted?: (text: string) => boolean;
  /** Structs: unknown keys are errors (Talos's strict config loader) instead of ignored. */
  strict?: boolean;
  /** Structs: who ignores (or rejects) unknown keys, and what to call the struct in messages. */
  owner?: "bldr" | "Talos";
  label?: string;
}

/** Decoder facts per schema node; lookups inherit through zod clones (`.meta`, `.superRefine`). */
export const goMeta = z.registry<GoMeta>();

/**
 * JSON Schema key marking a union member that only the runtime decoder needs (e.g. the text
 * `"true"` that `decodeYaml` hands over for a plain `true`); `jsonSchemas()` prunes those members.
 */
export const RUNTIME_ONLY = "x-talos-ext-runtime-only";

/** Refinements run even when a child already failed, so every problem of a file is reported at once. */
export const ALWAYS = { when: () => true } as const;

// yaml.v3 accepts these YAML 1.1 words only when the target is a Go bool, quoted or not.
const YAML11_TRUE = ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON"] as const;
const YAML11_FALSE = ["n", "N", "no", "No", "NO", "off", "Off", "OFF"] as const;
// These resolve to !!bool only when plain; quoted they are a !!str that Go refuses for a bool.
const CORE_TRUE = ["true", "True", "TRUE"] as const;
const CORE_FALSE = ["false", "False", "FALSE"] as const;
const TRUE_WORDS = new Set<string>([...YAML11_TRUE, ...CORE_TRUE]);
const CORE_WORDS = new Set<string>([...CORE_TRUE, ...CORE_FALSE]);

export const UINT32_MAX = 4294967295;

// ---------------------------------------------------------------------------------------------
// Go-flavoured text helpers

export { goQuote };

const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const YAML_TIMESTAMP =
  /^\d{4}-\d{1,2}-\d{1,2}(?:[Tt ]\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d*)?(?:Z|[-+]\d{1,2}(?::\d{2})?)?)?$/;

/** The tag yaml.v3 resolves a *plain* scalar to (used in "cannot unmarshal !!<tag>" messages). */
export function plainScalarTag(text: string): string {
  if (text === "" || text === "~" || text === "null" || text === "Null" || text === "NULL") return "!!null";
  if (CORE_WORDS.has(text)) return "!!bool";
  if (/^[-+]?\.(inf|Inf|INF)$/.test(text) || /^\.(nan|NaN|NAN)$/.test(text)) return "!!float";
  if (parseGoInt(text) !== undefined) return "!!int";
  if (YAML_FLOAT.test(text.replaceAll("_", ""))) return "!!float";
  if (YAML_TIMESTAMP.test(text)) return "!!timestamp";
  return "!!str";
}

/**
 * An integer as yaml.v3 reads one: underscores dropped, then Go's base-prefix rules
 * (`0x1F`, `0o17`, `0b101`, and a leading `0` meaning octal). `undefined` if it is not one.
 */
export function parseGoInt(text: string): number | undefined {
  const plain = text.replaceAll("_", "");
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(plain);
  if (!m) return undefined;
  const digits = m[2]!;
  let value: bigint;
  if (/^0[xXoObB]/.test(digits)) value = BigInt(digits.toLowerCase());
  else if (digits.length > 1 && digits.startsWith("0")) value = BigInt(`0o${digits.slice(1)}`);
  else value = BigInt(digits);
  if (m[1] === "-") value = -value;
  return Number.isSafeInteger(Number(value)) ? Number(value) : undefined;
}

/** The YAML tag of a decoded value; a quoted scalar is always `!!str`. */
export function yamlTag(value: unknown, quoted: boolean): string {
  if (Array.isArray(value)) return "!!seq";
  if (value !== null && typeof value === "object") return "!!map";
  if (value === null || value === undefined) return "!!null";
  if (typeof value === "boolean") return "!!bool";
  if (typeof value === "number") return Number.isInteger(value) ? "!!int" : "!!float";
  return quoted ? "!!str" : plainScalarTag(String(value));
}

/** yaml.v3's type error text: scalars are quoted with backticks and cut after 7 characters. */
export function unmarshalMessage(value: unknown, goType: string, quoted = false): string {
  const tag = yamlTag(value, quoted);
  let shown = "";
  if (tag !== "!!seq" && tag !== "!!map") {
    const chars = [...(value == null ? "" : String(value))];
    shown = chars.length > 10 ? ` \`${chars.slice(0, 7).join("")}...\`` : ` \`${chars.join("")}\``;
  }
  return `cannot unmarshal ${tag}${shown} into ${goType}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The text of a successfully decoded string field; `undefined` when that field failed to decode. */
export function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Leaves

const nullToUndefined = (v: unknown) => (v === null ? undefined : v);

/** A Go `string`: any scalar, kept as its text; `null` (`~`, empty) is `""`. */
export function goString(description?: string) {
  const core = z.union([z.string(), z.number(), z.boolean(), z.null()], {
    error: (iss) => unmarshalMessage(iss.input, "string"),
  });
  goMeta.add(core, {
    kind: "scalar",
    goType: "string",
    hint: "write a single value here; quote it if it holds YAML syntax",
  });
  const out = core.transform((v): string => (v === null ? "" : String(v)));
  return description === undefined ? out : out.meta({ description });
}

/** A Go `bool`: true/false in any case yaml.v3 knows, plus YAML 1.1 y/yes/on and n/no/off; `null` is false. */
export function goBool(description?: string) {
  const core = z.union(
    [
      z.boolean(),
      z.enum([...YAML11_TRUE, ...YAML11_FALSE]),
      z.enum([...CORE_TRUE, ...CORE_FALSE]).meta({ [RUNTIME_ONLY]: true }),
      z.null(),
    ],
    { error: (iss) => unmarshalMessage(iss.input, "bool") },
  );
  goMeta.add(core, {
    kind: "scalar",
    goType: "bool",
    hint: "use true or false without quotes (yes/no and on/off also work)",
    rejectQuoted: (t) => CORE_WORDS.has(t),
  });
  const out = core.transform((v): boolean => v === true || (typeof v === "string" && TRUE_WORDS.has(v)));
  return description === undefined ? out : out.meta({ description });
}

/** A Go `uint32` (OCI id mappings): a plain integer in any yaml.v3 notation; `null` is 0. */
export function goUint32(description?: string) {
  const core = z
    .union([z.int().min(0).max(UINT32_MAX), z.string().meta({ [RUNTIME_ONLY]: true }), z.null()], {
      error: (iss) => unmarshalMessage(iss.input, "uint32"),
    })
    .transform((v, ctx): number => {
      if (v === null) return 0;
      if (typeof v === "number") return v;
      const n = parseGoInt(v);
      if (n === undefined || n < 0 || n > UINT32_MAX) {
        ctx.addIssue({ code: "custom", message: unmarshalMessage(v, "uint32"), input: v });
        return z.NEVER;
      }
      return n;
    });
  goMeta.add(core, {
    kind: "scalar",
    goType: "uint32",
    hint: "use a plain unsigned integer without quotes",
    rejectQuoted: (t) => parseGoInt(t) !== undefined,
  });
  return description === undefined ? core : core.meta({ description });
}

export interface GoEnumOptions {
  /** Go's error for a scalar that is not one of the values. */
  message: (text: string) => string;
  code?: string;
  hint?: string;
  /** Match like Go's enumer: exact, or after lower-casing; the output is the canonical spelling. */
  caseInsensitive?: boolean;
  /** `""` means unset as well as `null` (for fields Go treats as unset when empty). */
  emptyIsUnset?: boolean;
  reportedByParent?: boolean;
  description?: string;
}

// ^(?:[aA][lL][wW]...)$ : a case-insensitive match that JSON Schema (no regex flags) understands.
function caseInsensitivePattern(values: readonly string[]): string {
  const alt = values.map((v) =>
    [...v]
      .map((c) =>
        c.toLowerCase() !== c.toUpperCase()
          ? `[${c.toLowerCase()}${c.toUpperCase()}]`
          : c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"),
      )
      .join(""),
  );
  return `^(?:${alt.join("|")})$`;
}

function enumCore<const T extends readonly [string, ...string[]]>(values: T, options: GoEnumOptions) {
  const error = (iss: { input?: unknown }) =>
    typeof iss.input === "string" ? options.message(iss.input) : unmarshalMessage(iss.input, "string");
  let core: z.ZodType<T[number]>;
  if (options.caseInsensitive) {
    const pattern = new RegExp(caseInsensitivePattern(values));
    core = z
      .string({ error })
      .regex(pattern, { error })
      .transform((s) => values.find((v) => v.toLowerCase() === s.toLowerCase()) as T[number]);
  } else {
    core = z.enum(values as unknown as [T[number], ...T[number][]], { error }) as unknown as z.ZodType<
      T[number]
    >;
  }
  const meta: GoMeta = {
    kind: "enum",
    goType: "string",
    valueCode: options.code ?? "SCHEMA_INVALID_VALUE",
    valueHint: options.hint ?? `use one of: ${values.join(", ")}`,
  };
  if (options.reportedByParent) meta.reportedByParent = true;
  goMeta.add(core, meta);
  return options.description === undefined ? core : core.meta({ description: options.description });
}

/** A string enum Go decodes with its own unmarshaler; `null` (and optionally `""`) is unset. */
export function goEnum<const T extends readonly [string, ...string[]]>(values: T, options: GoEnumOptions) {
  const unset = options.emptyIsUnset
    ? (v: unknown) => (v === null || v === "" ? undefined : v)
    : nullToUndefined;
  return z.preprocess(unset, enumCore(values, options).optional());
}

/** Like `goEnum`, but unset means the Go zero value `fallback`. */
export function goEnumDefault<const T extends readonly [string, ...string[]]>(
  values: T,
  fallback: NoInfer<T[number]>,
  options: GoEnumOptions,
) {
  return z.preprocess(
    nullToUndefined,
    enumCore(values, options).default(fallback as never),
  ) as unknown as z.ZodType<T[number], unknown>;
}

// ---------------------------------------------------------------------------------------------
// Containers

export interface GoContainerOptions {
  goType: string;
  hint?: string;
  description?: string;
}

/** A Go slice. Use `emptyIfNull` (nil slice = empty) or `.nullable()` where nil and empty differ. */
export function goList<T extends z.ZodType>(item: T, options: GoContainerOptions) {
  const arr = z.array(item, { error: (iss) => unmarshalMessage(iss.input, options.goType) });
  goMeta.add(arr, {
    kind: "list",
    goType: options.goType,
    hint: options.hint ?? "write a YAML list (`- item` lines or `[a, b]`)",
  });
  return options.description === undefined ? arr : arr.meta({ description: options.description });
}

/** A Go `map[string]<value>`. */
export function goMap<T extends z.ZodType>(value: T, options: GoContainerOptions) {
  const rec = z.record(z.string(), value, { error: (iss) => unmarshalMessage(iss.input, options.goType) });
  goMeta.add(rec, {
    kind: "map",
    goType: options.goType,
    hint: options.hint ?? "write a mapping of `key: value` pairs",
  });
  return options.description === undefined ? rec : rec.meta({ description: options.description });
}

export interface GoStructOptions extends GoContainerOptions {
  owner: "bldr" | "Talos";
  /** Human name used in messages ("dependency", "service spec"). */
  label: string;
  strict?: boolean;
  /** Keys the JSON Schema marks required: the ones whose absence Go's validation rejects. */
  required?: string[];
  title?: string;
}

/** A Go struct: known keys decoded, unknown keys ignored (or, `strict`, rejected). */
export function goStruct<S extends z.ZodRawShape>(shape: S, options: GoStructOptions) {
  const error = (iss: { input?: unknown }) => unmarshalMessage(iss.input, options.goType);
  const obj = options.strict ? z.strictObject(shape, { error }) : z.object(shape, { error });
  const meta: GoMeta = {
    kind: "struct",
    goType: options.goType,
    hint: options.hint ?? `write a mapping (the ${options.label})`,
    owner: options.owner,
    label: options.label,
  };
  if (options.strict) meta.strict = true;
  goMeta.add(obj, meta);
  const json: Record<string, unknown> = {};
  if (options.title !== undefined) json.title = options.title;
  if (options.description !== undefined) json.description = options.description;
  if (options.required?.length) json.required = options.required;
  return Object.keys(json).length > 0 ? obj.meta(json) : obj;
}

/** Nil slice or map: `null` or absent decodes to the empty value. */
export function emptyIfNull<T extends z.ZodType>(schema: T, empty: () => z.output<T>) {
  return z.preprocess(
    nullToUndefined,
    z.optional(schema).transform((v) => (v === undefined ? empty() : v)),
  );
}

/** A struct value: `null` or absent decodes to the zero struct (every field at its default). */
export function zeroIfNull<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => v ?? {}, schema);
}

/** An optional struct or list "as written": `null` or absent is `undefined`. */
export function optionalIfNull<T extends z.ZodType>(schema: T) {
  return z.preprocess(nullToUndefined, schema.optional());
}

/** Helper for refinements: report a Go validation error with our code, hint and position. */
export interface IssueSink {
  addIssue(issue: {
    code: "custom";
    message: string;
    path?: PropertyKey[];
    params?: Record<string, unknown>;
    input?: unknown;
  }): void;
}

export function report(
  ctx: IssueSink,
  path: (string | number)[],
  code: string,
  message: string,
  hint: string,
  at: "key" | "value" = "value",
): void {
  ctx.addIssue({ code: "custom", message, path, params: { code, hint, at } });
}
