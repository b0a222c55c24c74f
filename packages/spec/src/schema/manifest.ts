/**
 * An extension's `manifest.yaml` (Talos `extensions.Manifest`); see talos-extensions.md §1.2.
 * Decoded leniently like Talos; only `version` is checked, and it is checked first by Talos.
 */
import type { DecodedYaml } from "../yaml/decode.ts";
import { type DecodeResult, decodeWithSchema } from "./engine.ts";
import {
  ALWAYS,
  goEnum,
  goQuote,
  goString,
  goStruct,
  type IssueSink,
  isRecord,
  report,
  zeroIfNull,
} from "./go.ts";

/** An extension's `manifest.yaml` (Talos `extensions.Manifest`), as decoded. */
export interface ExtensionManifest {
  /** The manifest format; `v1alpha1` is the only one Talos knows. */
  version: "v1alpha1";
  /** What the extension is: name, version, author, description and the Talos versions it fits. */
  metadata: {
    /** The extension's name: shown by `talosctl get extensions`, compared with validation's `--pkg-name`. */
    name: string;
    /** The extension's own version, free text (quote it in YAML so it stays text). */
    version: string;
    /** Who maintains the extension. */
    author: string;
    /** One-line description of what the extension adds to a node. */
    description: string;
    /** Which Talos releases the extension may be installed on. */
    compatibility: {
      /** Constraint on the Talos release. */
      talos: {
        /** A blang/semver range such as `>= v1.10.0`; an empty string accepts any release. */
        version: string;
      };
    };
    /** Free-form extra information; nothing interprets it. */
    extraInfo?: string;
  };
}

const versionMessage = (v: string) => `unsupported manifest version: ${goQuote(v)}`;
const VERSION_HINT = "start the manifest with `version: v1alpha1`";

const constraintSchema = goStruct(
  {
    version: goString(
      'Constraint on the Talos version, e.g. ">= v1.10.0" (blang/semver ranges; an empty string means any).',
    ).default(""),
  },
  { goType: "extensions.Constraint", owner: "Talos", label: "compatibility constraint" },
);

const metadataSchema = goStruct(
  {
    name: goString(
      "Extension name; shown in `talosctl get extensions` and used as a node label key.",
    ).default(""),
    version: goString("Extension version; quote it so YAML keeps it as text.").default(""),
    author: goString("Author, free text.").default(""),
    description: goString("Description, free text.").default(""),
    compatibility: zeroIfNull(
      goStruct(
        { talos: zeroIfNull(constraintSchema) },
        { goType: "extensions.Compatibility", owner: "Talos", label: "compatibility" },
      ),
    ),
    extraInfo: goString("Free-form extra information.").optional(),
  },
  { goType: "extensions.Metadata", owner: "Talos", label: "manifest metadata" },
);

const manifestFields = goStruct(
  {
    version: goEnum(["v1alpha1"], {
      message: versionMessage,
      code: "SCHEMA_MANIFEST_VERSION",
      hint: VERSION_HINT,
      description: "Manifest format version; must be v1alpha1.",
    }),
    metadata: zeroIfNull(metadataSchema),
  },
  { goType: "extensions.Manifest", owner: "Talos", label: "manifest", required: ["version"] },
).superRefine((m, ctx) => validateManifest(m, ctx), ALWAYS);

function validateManifest(m: unknown, ctx: IssueSink): void {
  // An empty document, or no `version`, is the empty string to Talos.
  if (isRecord(m) && m.version === undefined) {
    report(ctx, ["version"], "SCHEMA_MANIFEST_VERSION", versionMessage(""), VERSION_HINT);
  }
}

/** The manifest.yaml schema: decodes leniently, fills in Go zero values, checks Talos's rules. */
export const manifestSchema = zeroIfNull(manifestFields).transform(
  (m): ExtensionManifest => ({ ...m, version: m.version as "v1alpha1" }),
);

/**
 * Decodes a `manifest.yaml` document leniently as Talos does and checks it with Talos's messages; errors are
 * diagnostics, never thrown.
 */
export function decodeManifest(doc: DecodedYaml): DecodeResult<ExtensionManifest> {
  return decodeWithSchema(manifestSchema, doc);
}
