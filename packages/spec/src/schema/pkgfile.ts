/**
 * `Pkgfile` (bldr v1alpha2 `Pkgfile`) and `vars.yaml` (bldr `types.Variables`); see bldr-format.md §1 and §3.3.
 */
import type { DecodedYaml } from "../yaml/decode.ts";
import { type DecodeResult, decodeWithSchema } from "./engine.ts";
import {
  ALWAYS,
  emptyIfNull,
  goEnum,
  goMap,
  goQuote,
  goString,
  goStruct,
  type IssueSink,
  isRecord,
  report,
  zeroIfNull,
} from "./go.ts";

/** The Pkgfile formats bldr loads (only `v1alpha2`). */
export const PKGFILE_FORMATS = ["v1alpha2"] as const;

/** A decoded `Pkgfile`: the tree's format, global template variables and image labels. */
export interface Pkgfile {
  /** The format; only `v1alpha2` loads. */
  format: "v1alpha2";
  /** Global template variables, every scalar kept as its text (they cannot use build args). */
  vars: Record<string, string>;
  /** Labels for the output image's config (only the BuildKit frontend applies them). */
  labels: Record<string, string>;
}

const formatMessage = (format: string) =>
  `unsupported format: ${goQuote(format)}, supported formats: [${PKGFILE_FORMATS.map(goQuote).join(" ")}]`;
const FORMAT_HINT = "put `format: v1alpha2` in the Pkgfile";

const pkgfileFields = goStruct(
  {
    format: goEnum(PKGFILE_FORMATS, {
      message: formatMessage,
      code: "SCHEMA_UNSUPPORTED_FORMAT",
      hint: FORMAT_HINT,
      description: "Format of the package tree; only v1alpha2 exists.",
    }),
    vars: emptyIfNull(
      goMap(goString(), {
        goType: "types.Variables",
        description:
          "Global template variables. Values are kept as text; the Pkgfile itself is not templated.",
      }),
      () => ({}),
    ),
    labels: emptyIfNull(
      goMap(goString(), { goType: "map[string]string", description: "Labels of the output image config." }),
      () => ({}),
    ),
  },
  { goType: "v1alpha2.Pkgfile", owner: "bldr", label: "Pkgfile", required: ["format"] },
).superRefine((p, ctx) => validatePkgfile(p, ctx), ALWAYS);

function validatePkgfile(p: unknown, ctx: IssueSink): void {
  if (isRecord(p) && p.format === undefined) {
    report(ctx, ["format"], "SCHEMA_UNSUPPORTED_FORMAT", formatMessage(""), FORMAT_HINT);
  }
}

/** The Pkgfile schema (the `# syntax =` first line is a YAML comment to it). */
export const pkgfileSchema = zeroIfNull(pkgfileFields).transform(
  (p): Pkgfile => ({ ...p, format: p.format as Pkgfile["format"] }),
);

/** Decodes a `Pkgfile` and checks its format; errors are diagnostics, never thrown. */
export function decodePkgfile(doc: DecodedYaml): DecodeResult<Pkgfile> {
  return decodeWithSchema(pkgfileSchema, doc);
}

/** A rendered `vars.yaml`: a flat mapping of scalars, each kept as its text. */
export const varsSchema = emptyIfNull(
  goMap(goString(), {
    goType: "types.Variables",
    hint: "vars.yaml is a flat mapping of `NAME: value`; values must be scalars",
    description: "Template variables for this directory and the packages below it.",
  }),
  () => ({}),
);

/** Decodes a rendered `vars.yaml` (a flat map of scalars, kept as text); errors are diagnostics. */
export function decodeVars(doc: DecodedYaml): DecodeResult<Record<string, string>> {
  return decodeWithSchema(varsSchema, doc);
}
