/**
 * `ExtensionServiceConfig` machine-config documents (Talos `extensions.ServiceConfigV1Alpha1`);
 * see talos-extensions.md §4. Talos's config loader is strict, so unknown keys are errors here.
 */
import { type Diagnostic, diagnostic, hasErrors } from "../errors.ts";
import type { DecodedYaml } from "../yaml/decode.ts";
import { type DecodeResult, decodeWithSchema } from "./engine.ts";
import {
  ALWAYS,
  emptyIfNull,
  goEnum,
  goList,
  goQuote,
  goString,
  goStruct,
  type IssueSink,
  isRecord,
  report,
  text,
  zeroIfNull,
} from "./go.ts";

/** The only `apiVersion` of an ExtensionServiceConfig document Talos accepts. */
export const ESC_API_VERSION = "v1alpha1";
/** The `kind` of an ExtensionServiceConfig machine-config document. */
export const ESC_KIND = "ExtensionServiceConfig";

/** An ExtensionServiceConfig machine-config document: files and environment for one extension service. */
export interface ExtensionServiceConfig {
  /** Always `v1alpha1`. */
  apiVersion: "v1alpha1";
  /** Always `ExtensionServiceConfig`. */
  kind: "ExtensionServiceConfig";
  /** The service's `name` (its spec's name, without `ext-`). */
  name: string;
  /** Files Talos writes and bind-mounts read-only into the service container at `mountPath`. */
  configFiles: {
    /** The file's body, written with mode 0644. */
    content: string;
    /** Absolute path inside the service container where the file is bind-mounted read-only. */
    mountPath: string;
  }[];
  /** `KEY=VALUE` entries added to the service's environment. */
  environment: string[];
}

const configFileSchema = goStruct(
  {
    content: goString("File body, written with mode 0644.").default(""),
    mountPath: goString("Absolute path inside the service container; bind-mounted read-only.").default(""),
  },
  {
    goType: "extensions.ConfigFile",
    owner: "Talos",
    label: "config file",
    strict: true,
    required: ["content", "mountPath"],
  },
);

const escFields = goStruct(
  {
    apiVersion: goEnum([ESC_API_VERSION], {
      message: (v) => `${goQuote(ESC_KIND)} ${goQuote(v)}: not registered`,
      emptyIsUnset: true,
      reportedByParent: true,
      description: "Only v1alpha1 exists.",
    }),
    kind: goEnum([ESC_KIND], {
      message: (k) => `expected kind ${goQuote(ESC_KIND)}, got ${goQuote(k)}`,
      emptyIsUnset: true,
      reportedByParent: true,
    }),
    name: goString("The service spec `name` this configures (e.g. multipathd, not ext-multipathd).").default(
      "",
    ),
    configFiles: emptyIfNull(
      goList(zeroIfNull(configFileSchema), {
        goType: "[]extensions.ConfigFile",
        description: "Config files for the service.",
      }),
      () => [],
    ),
    environment: emptyIfNull(
      goList(goString(), {
        goType: "[]string",
        description: "KEY=VALUE entries appended after the spec's environment.",
      }),
      () => [],
    ),
  },
  {
    goType: "extensions.ServiceConfigV1Alpha1",
    owner: "Talos",
    label: "ExtensionServiceConfig",
    strict: true,
    required: ["apiVersion", "kind", "name"],
    description: "Configuration files and environment for an extension service (a machine-config document).",
  },
).superRefine((c, ctx) => validateEsc(c, ctx), ALWAYS);

const DOCUMENT_HINT = `start the document with \`apiVersion: ${ESC_API_VERSION}\` and \`kind: ${ESC_KIND}\``;

function validateEsc(c: unknown, ctx: IssueSink): void {
  if (!isRecord(c)) return;
  // The config loader: the document kind and version are resolved before anything is decoded.
  const kind = c.kind;
  const apiVersion = c.apiVersion;
  if (kind === undefined) {
    report(ctx, ["kind"], "SCHEMA_UNSUPPORTED_DOCUMENT", "missing kind", DOCUMENT_HINT);
  } else if (apiVersion === undefined) {
    report(ctx, ["apiVersion"], "SCHEMA_UNSUPPORTED_DOCUMENT", "missing apiVersion", DOCUMENT_HINT);
  } else if (typeof kind === "string" && kind !== ESC_KIND) {
    report(
      ctx,
      ["kind"],
      "SCHEMA_UNSUPPORTED_DOCUMENT",
      `expected kind ${goQuote(ESC_KIND)}, got ${goQuote(kind)}`,
      DOCUMENT_HINT,
    );
  } else if (typeof apiVersion === "string" && apiVersion !== ESC_API_VERSION) {
    report(
      ctx,
      ["apiVersion"],
      "SCHEMA_UNSUPPORTED_DOCUMENT",
      `${goQuote(ESC_KIND)} ${goQuote(apiVersion)}: not registered`,
      `use \`apiVersion: ${ESC_API_VERSION}\``,
    );
  }

  // ServiceConfigV1Alpha1.Validate, in its order. Talos stops at the first; we report them all.
  const name = text(c.name);
  if (name === undefined) return;
  if (name === "") {
    report(ctx, ["name"], "SCHEMA_REQUIRED", "name is required", "set `name:` to the service spec's name");
  }
  const files = Array.isArray(c.configFiles) ? c.configFiles : undefined;
  const environment = Array.isArray(c.environment) ? c.environment : undefined;
  if (files?.length === 0 && environment?.length === 0) {
    report(
      ctx,
      ["configFiles"],
      "SCHEMA_REQUIRED",
      `no config files found for extension ${goQuote(name)}`,
      "add `configFiles:` (mountPath + content) and/or `environment:` entries",
    );
  }
  files?.forEach((file, i) => {
    if (!isRecord(file)) return;
    if (text(file.content) === "") {
      report(
        ctx,
        ["configFiles", i, "content"],
        "SCHEMA_REQUIRED",
        `extension content is required for extension ${goQuote(name)}`,
        "give every config file a non-empty `content:`",
      );
    }
    if (text(file.mountPath) === "") {
      report(
        ctx,
        ["configFiles", i, "mountPath"],
        "SCHEMA_REQUIRED",
        `extension mount path is required for extension ${goQuote(name)}`,
        "give every config file a `mountPath:` (an absolute path in the container)",
      );
    }
  });
}

/** The ExtensionServiceConfig schema: decodes the document, fills in Go zero values, checks Talos's rules. */
export const extensionServiceConfigSchema = zeroIfNull(escFields).transform(
  (c): ExtensionServiceConfig => ({ ...c, apiVersion: ESC_API_VERSION, kind: ESC_KIND }),
);

/** The file name Talos stores a config file under: leading `/` dropped, other `/` become `-`. */
export function configFileStorageName(mountPath: string): string {
  return mountPath.replace(/^\//, "").replaceAll("/", "-");
}

function mountPathCollisions(doc: DecodedYaml): Diagnostic[] {
  const root = doc.value;
  if (!isRecord(root) || !Array.isArray(root.configFiles)) return [];
  const name = typeof root.name === "string" ? root.name : "<name>";
  const seen = new Map<string, string>();
  const out: Diagnostic[] = [];
  root.configFiles.forEach((file, i) => {
    if (!isRecord(file) || typeof file.mountPath !== "string" || file.mountPath === "") return;
    const stored = configFileStorageName(file.mountPath);
    const first = seen.get(stored);
    if (first === undefined) {
      seen.set(stored, file.mountPath);
      return;
    }
    const message =
      first === file.mountPath
        ? `mountPath ${goQuote(file.mountPath)} is listed twice; Talos writes one file and the later content wins`
        : `mountPath ${goQuote(file.mountPath)} collides with ${goQuote(first)}: Talos stores both as ${goQuote(
            `/system/overlays/extensions/${name}/${stored}`,
          )}`;
    out.push(
      diagnostic("SCHEMA_MOUNT_PATH_COLLISION", "warning", message, {
        hint: "Talos names each stored file after its mountPath with the leading / dropped and / turned into -; keep those names distinct",
        location: doc.locate(["configFiles", i, "mountPath"]),
      }),
    );
  });
  return out;
}

/** One ExtensionServiceConfig document, decoded strictly as Talos's config loader does. */
export function decodeExtensionServiceConfig(doc: DecodedYaml): DecodeResult<ExtensionServiceConfig> {
  const result = decodeWithSchema(extensionServiceConfigSchema, doc);
  const collisions = mountPathCollisions(doc);
  if (collisions.length === 0) return result;
  return { value: result.value, diagnostics: [...result.diagnostics, ...collisions].sort(byPosition) };
}

const byPosition = (a: Diagnostic, b: Diagnostic) =>
  (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0);

const rawText = (v: unknown) => (typeof v === "string" ? v : "");

/**
 * Every document of a multi-document stream. Null documents are skipped, as Talos does; two
 * documents with the same apiVersion/kind/name are rejected.
 */
export function decodeExtensionServiceConfigs(docs: DecodedYaml[]): DecodeResult<ExtensionServiceConfig[]> {
  const diagnostics: Diagnostic[] = [];
  const values: ExtensionServiceConfig[] = [];
  const seen = new Set<string>();
  for (const doc of docs) {
    if (doc.value === null) continue;
    if (isRecord(doc.value)) {
      const root = doc.value;
      // Talos's document id; a missing kind counts as "v1alpha1" there.
      const id = `${rawText(root.apiVersion)}/${rawText(root.kind) || "v1alpha1"}/${rawText(root.name)}`;
      if (seen.has(id)) {
        diagnostics.push(
          diagnostic("SCHEMA_DUPLICATE_DOCUMENT", "error", `duplicate document ${id} is not allowed`, {
            hint: "keep one document per service name; merge their configFiles and environment",
            location: doc.locate([]),
          }),
        );
      }
      seen.add(id);
    }
    const one = decodeExtensionServiceConfig(doc);
    diagnostics.push(...one.diagnostics);
    if (one.value) values.push(one.value);
  }
  return { value: hasErrors(diagnostics) ? undefined : values, diagnostics };
}
