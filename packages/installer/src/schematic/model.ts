/**
 * The Image Factory schematic: a strict zod model (unknown keys refused, as the factory does),
 * a text parser with the factory's Go typing rules, the canonical YAML and the schematic ID.
 * Field order below is serialization order and part of the ID contract (image-factory
 * `pkg/schematic` `Schematic`).
 */
import { createHash } from "node:crypto";
import {
  type DecodedYaml,
  type Diagnostic,
  decodeYaml,
  diagnostic,
  didYouMean,
  TalosExtError,
} from "@talos-ext/spec";
import { z } from "zod";
import { installerError } from "../codes.ts";
import { emitGoYaml, type GoYamlDialect, type GoYamlNode, goFloat, naturalLess } from "./go-yaml.ts";

/** Bootloaders a schematic may name; `none` is the zero value and is never serialized. */
export const BOOTLOADERS = ["none", "dual-boot", "sd-boot", "grub"] as const;

/** A free-form overlay option value (what go-yaml decodes into `any`). */
export type OverlayOptionValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | OverlayOptionValue[]
  | {
      /** A mapping's entries, by key. */
      [key: string]: OverlayOptionValue;
    };

const optionValue: z.ZodType<OverlayOptionValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.bigint(),
    z.boolean(),
    z.null(),
    z.array(optionValue),
    z.record(z.string(), optionValue),
  ]),
);

/** Zod schema of a schematic (JS values; strict, like the factory's `KnownFields(true)` decoder). */
export const schematicSchema = z.strictObject({
  /** Enterprise only: the owner; a community factory refuses a non-empty owner. */
  owner: z.string().optional(),
  /** SBC overlay. */
  overlay: z
    .strictObject({
      /** Overlay image (serialized as `""` when only `name` is set). */
      image: z.string().default(""),
      /** Overlay name, e.g. `rpi_generic`. */
      name: z.string().default(""),
      /** Free-form overlay options. */
      options: z.record(z.string(), optionValue).optional(),
    })
    .optional(),
  /** Talos image customization (always serialized, `{}` when empty). */
  customization: z
    .strictObject({
      /** Machine config embedded in the image (factory: Talos >= 1.12). */
      embeddedMachineConfiguration: z.string().optional(),
      /** Extra kernel arguments, in order. */
      extraKernelArgs: z.array(z.string()).optional(),
      /** Initial META contents; key 0-255. */
      meta: z.array(z.strictObject({ key: z.number().int().min(0).max(255), value: z.string() })).optional(),
      /** Official extensions by repository path (`siderolabs/iscsi-tools`), in order. */
      systemExtensions: z.strictObject({ officialExtensions: z.array(z.string()).optional() }).optional(),
      /** Bootloader; `none` (the default) is dropped from the canonical form. */
      bootloader: z
        .string()
        .transform((s) => s.toLowerCase())
        .pipe(z.enum(BOOTLOADERS))
        .optional(),
      /** SecureBoot options. */
      secureboot: z
        .strictObject({
          enrollKeys: z.string().optional(),
          includeWellKnownCertificates: z.boolean().optional(),
        })
        .optional(),
      /** Disk image options. */
      diskImage: z.strictObject({ sectorSize: z.number().int().min(0).optional() }).optional(),
    })
    .optional(),
});

/** A schematic as accepted by the API (what `schematicSchema` takes). */
export type SchematicInput = z.input<typeof schematicSchema>;
/** A validated schematic. */
export type Schematic = z.output<typeof schematicSchema>;

/** The empty (vanilla) schematic's ID, hard-coded in Talos as the default installer's schematic. */
export const EMPTY_SCHEMATIC_ID = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";

/** The keys the factory knows at each mapping, for "did you mean" hints. */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  "": ["owner", "overlay", "customization"],
  overlay: ["image", "name", "options"],
  customization: [
    "embeddedMachineConfiguration",
    "extraKernelArgs",
    "meta",
    "systemExtensions",
    "bootloader",
    "secureboot",
    "diskImage",
  ],
  "customization.meta": ["key", "value"],
  "customization.systemExtensions": ["officialExtensions"],
  "customization.secureboot": ["enrollKeys", "includeWellKnownCertificates"],
  "customization.diskImage": ["sectorSize"],
};

function unknownKeyHint(path: readonly (string | number)[], key: string): string {
  const where = path.filter((p) => typeof p === "string").join(".");
  const guess = didYouMean(key, KNOWN_KEYS[where] ?? []);
  return guess
    ? `did you mean "${guess}"? The factory refuses unknown fields`
    : `the factory refuses unknown fields; known here: ${(KNOWN_KEYS[where] ?? []).join(", ") || "none"}`;
}

function zodFailure(error: z.ZodError, file: string, doc?: DecodedYaml): TalosExtError {
  const diagnostics: Diagnostic[] = error.issues.map((issue) => {
    const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
    const keyIssue = issue.code === "unrecognized_keys";
    const where = keyIssue ? [...path, ...(issue.keys.slice(0, 1) as string[])] : path;
    const location = doc ? doc.locate(where, keyIssue ? "key" : "value") : { file };
    const at = where.length ? where.join(".") : "(root)";
    const message = keyIssue
      ? `unknown field ${issue.keys.join(", ")} in ${path.join(".") || "schematic"}`
      : `${at}: ${issue.message}`;
    return diagnostic("SCHEMATIC_INVALID", "error", message, {
      hint: keyIssue
        ? unknownKeyHint(path, String(issue.keys[0] ?? ""))
        : "fix the value; see the schematic format in the Image Factory docs",
      location,
    });
  });
  const first = diagnostics[0];
  return new TalosExtError({
    code: "SCHEMATIC_INVALID",
    message: first?.message ?? "invalid schematic",
    ...(first?.hint ? { hint: first.hint } : {}),
    location: doc
      ? {
          file,
          ...(first?.line ? { line: first.line } : {}),
          ...(first?.column ? { column: first.column } : {}),
        }
      : { file },
    diagnostics,
  });
}

/** Validates a schematic given as JS values; bad input throws `SCHEMATIC_INVALID`. */
export function validateSchematic(input: unknown, file = "schematic"): Schematic {
  const r = schematicSchema.safeParse(input);
  if (!r.success) throw zodFailure(r.error, file);
  return r.data;
}

// --- typing a decoded YAML/JSON document the way the factory's Go decoder does ---

const INT_RE = /^[-+]?(?:[0-9]+|0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+)$/;
const FLOAT_RE = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

/** A plain scalar as a Go integer (go-yaml drops `_`; a leading 0 is octal), or undefined. */
function goInt(text: string): bigint | undefined {
  const plain = text.replaceAll("_", "");
  if (!INT_RE.test(plain)) return undefined;
  const neg = plain.startsWith("-");
  let body = plain.replace(/^[-+]/, "");
  if (/^0[0-7]+$/.test(body)) body = `0o${body.slice(1)}`;
  else if (/^0[0-9]+$/.test(body)) return undefined;
  const v = BigInt(body);
  return neg ? -v : v;
}

const GO_TRUE = new Set(["true", "True", "TRUE", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON"]);
const GO_FALSE = new Set(["false", "False", "FALSE", "n", "N", "no", "No", "NO", "off", "Off", "OFF"]);

type Typed = { ok: true; value: unknown } | { ok: false; message: string };

/** Converts the decoder's text scalars into the JS types the zod schema checks, by field. */
function typeDocument(doc: DecodedYaml, problems: Diagnostic[]): unknown {
  const fail = (path: (string | number)[], message: string) => {
    problems.push(
      diagnostic("SCHEMATIC_INVALID", "error", `${path.join(".")}: ${message}`, {
        hint: "write the value in the type the field expects (numbers and booleans unquoted)",
        location: doc.locate(path),
      }),
    );
    return undefined;
  };
  const scalarText = (v: unknown) => (typeof v === "string" ? v : v === null ? "" : undefined);
  const str = (v: unknown, path: (string | number)[]) => {
    const t = scalarText(v);
    return t === undefined ? fail(path, "cannot unmarshal a collection into a string") : t;
  };
  const uint = (v: unknown, path: (string | number)[], max: bigint): Typed => {
    if (v === null) return { ok: true, value: 0 };
    if (typeof v !== "string" || doc.isQuoted(path))
      return { ok: false, message: "expected an unquoted integer" };
    const n = goInt(v);
    if (n === undefined || n < 0n || n > max)
      return { ok: false, message: `expected an integer from 0 to ${max}` };
    return { ok: true, value: Number(n) };
  };
  const bool = (v: unknown, path: (string | number)[]): Typed => {
    if (v === null) return { ok: true, value: false };
    if (typeof v === "string" && GO_TRUE.has(v) && (!doc.isQuoted(path) || !/^(true|false)$/i.test(v)))
      return { ok: true, value: true };
    if (typeof v === "string" && GO_FALSE.has(v) && (!doc.isQuoted(path) || !/^(true|false)$/i.test(v)))
      return { ok: true, value: false };
    return { ok: false, message: "expected a boolean" };
  };
  const list = (
    v: unknown,
    path: (string | number)[],
    item: (x: unknown, p: (string | number)[]) => unknown,
  ) => {
    if (v === null) return undefined;
    if (!Array.isArray(v)) return fail(path, "expected a list");
    return v.map((x, i) => item(x, [...path, i]));
  };
  const option = (v: unknown, path: (string | number)[]): OverlayOptionValue => {
    if (v === null) return null;
    if (Array.isArray(v)) return v.map((x, i) => option(x, [...path, i]));
    if (typeof v === "object") {
      const out: Record<string, OverlayOptionValue> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = option(x, [...path, k]);
      return out;
    }
    const t = String(v);
    if (doc.isQuoted(path)) return t;
    if (/^(true|True|TRUE)$/.test(t)) return true;
    if (/^(false|False|FALSE)$/.test(t)) return false;
    const n = goInt(t);
    if (n !== undefined)
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    if (FLOAT_RE.test(t.replaceAll("_", ""))) return Number(t.replaceAll("_", ""));
    if (/^[-+]?\.(inf|Inf|INF)$/.test(t)) return t.startsWith("-") ? -Infinity : Infinity;
    if (/^\.(nan|NaN|NAN)$/.test(t)) return Number.NaN;
    return t;
  };
  const map = (
    v: unknown,
    path: (string | number)[],
    fields: Record<string, (x: unknown, p: (string | number)[]) => unknown>,
  ) => {
    if (v === null || v === undefined) return undefined;
    if (typeof v !== "object" || Array.isArray(v)) return fail(path, "expected a mapping");
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const f = fields[k];
      // Unknown keys are passed through so the strict zod schema names them with a location.
      const typed = f ? f(x, [...path, k]) : x;
      if (typed !== undefined) out[k] = typed;
    }
    return out;
  };
  const typedOrFail = (r: Typed, path: (string | number)[]) => (r.ok ? r.value : fail(path, r.message));
  const root = doc.value;
  if (root === null || root === undefined) return {};
  return map(root, [], {
    owner: str,
    overlay: (v, p) =>
      map(v, p, {
        image: str,
        name: str,
        options: (o, op) => {
          if (o === null) return undefined;
          if (typeof o !== "object" || Array.isArray(o)) return fail(op, "expected a mapping");
          return option(o, op);
        },
      }),
    customization: (v, p) =>
      map(v, p, {
        embeddedMachineConfiguration: str,
        extraKernelArgs: (x, xp) => list(x, xp, str),
        meta: (x, xp) =>
          list(x, xp, (m, mp) =>
            map(m, mp, {
              key: (k, kp) => typedOrFail(uint(k, kp, 255n), kp),
              value: str,
            }),
          ),
        systemExtensions: (x, xp) => map(x, xp, { officialExtensions: (l, lp) => list(l, lp, str) }),
        bootloader: str,
        secureboot: (x, xp) =>
          map(x, xp, {
            enrollKeys: str,
            includeWellKnownCertificates: (b, bp) => typedOrFail(bool(b, bp), bp),
          }),
        diskImage: (x, xp) =>
          map(x, xp, { sectorSize: (n, np) => typedOrFail(uint(n, np, 2n ** 64n - 1n), np) }),
      }),
  });
}

/**
 * Parses a schematic from YAML or JSON text (JSON is YAML), strictly, as `POST /schematics`
 * does; bad input throws `SCHEMATIC_INVALID` with positions (and one diagnostic per problem).
 */
export function parseSchematic(
  text: string,
  options: {
    /** Name used in error positions; default `schematic.yaml`. */
    file?: string;
  } = {},
): Schematic {
  const file = options.file ?? "schematic.yaml";
  let doc: DecodedYaml;
  try {
    doc = decodeYaml(text, { file, maxBytes: 4 * 1024 * 1024 });
  } catch (e) {
    if (e instanceof TalosExtError) {
      throw installerError(
        "SCHEMATIC_INVALID",
        `the schematic is not valid YAML: ${e.message}`,
        e.hint ?? "fix the YAML",
        {
          ...(e.location ? { location: e.location } : {}),
          cause: e,
        },
      );
    }
    throw e;
  }
  const problems: Diagnostic[] = [];
  const typed = typeDocument(doc, problems);
  if (problems.length > 0) {
    const first = problems[0] as Diagnostic;
    throw new TalosExtError({
      code: "SCHEMATIC_INVALID",
      message: first.message,
      ...(first.hint ? { hint: first.hint } : {}),
      location: {
        file,
        ...(first.line ? { line: first.line } : {}),
        ...(first.column ? { column: first.column } : {}),
      },
      diagnostics: problems,
    });
  }
  const r = schematicSchema.safeParse(typed);
  if (!r.success) throw zodFailure(r.error, file, doc);
  return r.data;
}

// --- canonical form ---

const str = (value: string): GoYamlNode => ({ kind: "str", value });

function optionNode(v: OverlayOptionValue, where: string): GoYamlNode {
  if (v === null) return { kind: "raw", text: "null" };
  if (typeof v === "string") return str(v);
  if (typeof v === "boolean") return { kind: "raw", text: v ? "true" : "false" };
  if (typeof v === "bigint") return { kind: "raw", text: v.toString() };
  if (typeof v === "number") return { kind: "raw", text: Number.isSafeInteger(v) ? String(v) : goFloat(v) };
  if (Array.isArray(v)) return { kind: "seq", items: v.map((x, i) => optionNode(x, `${where}[${i}]`)) };
  const keys = Object.keys(v).sort((a, b) => (naturalLess(a, b) ? -1 : naturalLess(b, a) ? 1 : 0));
  return {
    kind: "map",
    entries: keys.map((k) => [k, optionNode(v[k] as OverlayOptionValue, `${where}.${k}`)]),
  };
}

/** The schematic as the tree go-yaml would serialize, omitempty rules applied. */
function toNode(s: Schematic): GoYamlNode & { kind: "map" } {
  const root: [string, GoYamlNode][] = [];
  if (s.owner) root.push(["owner", str(s.owner)]);
  const ov = s.overlay;
  if (ov && (ov.image !== "" || ov.name !== "" || Object.keys(ov.options ?? {}).length > 0)) {
    const entries: [string, GoYamlNode][] = [
      ["image", str(ov.image)],
      ["name", str(ov.name)],
    ];
    if (ov.options && Object.keys(ov.options).length > 0)
      entries.push(["options", optionNode(ov.options, "overlay.options")]);
    root.push(["overlay", { kind: "map", entries }]);
  }
  const c = s.customization ?? {};
  const cust: [string, GoYamlNode][] = [];
  if (c.embeddedMachineConfiguration)
    cust.push(["embeddedMachineConfiguration", str(c.embeddedMachineConfiguration)]);
  if (c.extraKernelArgs?.length)
    cust.push(["extraKernelArgs", { kind: "seq", items: c.extraKernelArgs.map(str) }]);
  if (c.meta?.length) {
    cust.push([
      "meta",
      {
        kind: "seq",
        items: c.meta.map((m) => ({
          kind: "map",
          entries: [
            ["key", { kind: "raw", text: String(m.key) }],
            ["value", str(m.value)],
          ],
        })),
      },
    ]);
  }
  const official = c.systemExtensions?.officialExtensions ?? [];
  if (official.length) {
    cust.push([
      "systemExtensions",
      { kind: "map", entries: [["officialExtensions", { kind: "seq", items: official.map(str) }]] },
    ]);
  }
  if (c.bootloader && c.bootloader !== "none") cust.push(["bootloader", str(c.bootloader)]);
  const sb: [string, GoYamlNode][] = [];
  if (c.secureboot?.enrollKeys) sb.push(["enrollKeys", str(c.secureboot.enrollKeys)]);
  if (c.secureboot?.includeWellKnownCertificates)
    sb.push(["includeWellKnownCertificates", { kind: "raw", text: "true" }]);
  if (sb.length) cust.push(["secureboot", { kind: "map", entries: sb }]);
  if (c.diskImage?.sectorSize) {
    cust.push([
      "diskImage",
      { kind: "map", entries: [["sectorSize", { kind: "raw", text: String(c.diskImage.sectorSize) }]] },
    ]);
  }
  root.push(["customization", { kind: "map", entries: cust }]);
  return { kind: "map", entries: root };
}

/** Options of {@link canonicalSchematic} and {@link schematicId}. */
export interface CanonicalOptions {
  /**
   * The factory's YAML library: `v4` (default; factories since Nov 2025) or `v3` (older and
   * self-hosted factories). They differ only for strings such as `yes`, `off`, `12:30`, `<<`.
   */
  dialect?: GoYamlDialect;
}

/** The canonical YAML the factory hashes (go-yaml `Marshal` of the typed schematic). */
export function canonicalSchematic(
  schematic: SchematicInput | Schematic,
  options: CanonicalOptions = {},
): string {
  return emitGoYaml(toNode(validateSchematic(schematic)), options);
}

/** The schematic ID exactly as the factory computes it: lowercase hex SHA-256 of the canonical YAML. */
export function schematicId(schematic: SchematicInput | Schematic, options: CanonicalOptions = {}): string {
  return createHash("sha256").update(canonicalSchematic(schematic, options), "utf8").digest("hex");
}

/** A schematic listing `officialExtensions` in the given order (order changes the ID). */
export function schematicForExtensions(
  officialExtensions: readonly string[],
  extra: {
    /** Kernel arguments for `customization.extraKernelArgs`, in order; none: the field is left out. */
    extraKernelArgs?: readonly string[];
  } = {},
): Schematic {
  return validateSchematic({
    customization: {
      ...(extra.extraKernelArgs?.length ? { extraKernelArgs: [...extra.extraKernelArgs] } : {}),
      ...(officialExtensions.length
        ? { systemExtensions: { officialExtensions: [...officialExtensions] } }
        : {}),
    },
  });
}
