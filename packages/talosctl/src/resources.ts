/**
 * Resources as `talosctl get` prints them, and the typed views of the ones a deploy tool reads.
 * JSON types drift from the Go types (numeric ids become numbers, an empty owner is null), so the
 * raw type says so and the typed views normalise.
 */
import { parseAllDocuments } from "yaml";

/** Resource metadata as printed by `get -o json` / `-o yaml`. */
export interface ResourceMetadata {
  /** COSI namespace, e.g. `runtime`. */
  namespace: string;
  /** Resource type with its group, e.g. `ExtensionStatuses.runtime.talos.dev`. */
  type: string;
  /** A number when the id looks numeric (`0`, `1` for extensions): never key by it. */
  id: string | number;
  /** Resource version, bumped on every change: compares two reads of one resource. */
  version: number;
  /** The controller that owns the resource; `null` when none (the JSON prints it as empty or absent). */
  owner: string | null;
  /** `running` or `tearingDown`. */
  phase: string;
  /** Creation time as printed (RFC 3339). */
  created: string;
  /** Last update time as printed (RFC 3339). */
  updated: string;
  /** COSI labels, when the resource has any. */
  labels?: Record<string, string>;
  /** COSI annotations, when the resource has any. */
  annotations?: Record<string, string>;
  /** Finalizers holding the resource, when any. */
  finalizers?: string[];
}

/** One resource of `talosctl get`. */
export interface TalosctlResource<S = unknown> {
  /** The node exactly as passed to `--nodes`. */
  node: string;
  /** The resource's COSI metadata. */
  metadata: ResourceMetadata;
  /** The resource's spec; its shape depends on the type (`S` for a typed view). */
  spec: S;
  /** Only with `--watch`. */
  event?: "created" | "updated" | "destroyed";
}

/** Checks the shape every resource has; the message names the field, never the value. */
export function checkResource(value: unknown): TalosctlResource {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error("a resource is not a JSON object");
  }
  const r = value as Record<string, unknown>;
  const md = r.metadata as Record<string, unknown> | undefined;
  if (typeof md !== "object" || md === null) throw new Error("a resource has no metadata object");
  if (typeof md.type !== "string") throw new Error("a resource's metadata.type is not a string");
  if (typeof md.id !== "string" && typeof md.id !== "number") {
    throw new Error("a resource's metadata.id is neither a string nor a number");
  }
  if (typeof r.node !== "string") throw new Error("a resource has no node field");
  return value as TalosctlResource;
}

/** The id of a resource as a string (numeric ids are numbers in the output). */
export function resourceId(r: TalosctlResource): string {
  return String(r.metadata.id);
}

/**
 * Parses `talosctl get -o yaml` output: per resource `node:`, `metadata:`, `spec:` documents
 * separated by `---`. Read with the YAML core schema so timestamps stay strings (a YAML 1.1
 * reader would make Dates of `created`); ids stay numbers where they look numeric, as in JSON.
 */
export function parseGetYaml(text: string): TalosctlResource[] {
  const docs = parseAllDocuments(text, { schema: "core", prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: TalosctlResource[] = [];
  for (const doc of list) {
    const first = doc.errors[0];
    if (first) {
      const line = first.linePos?.[0];
      throw new Error(
        `invalid YAML${line ? ` at line ${line.line}, column ${line.col}` : ""} (${first.code})`,
      );
    }
    if (doc.contents === null) continue;
    const value = doc.toJS({ maxAliasCount: 0 }) as unknown;
    if (value === null || value === undefined) continue;
    const r = checkResource(value);
    if (r.metadata.owner === undefined || (r.metadata.owner as unknown) === "") r.metadata.owner = null;
    out.push(r);
  }
  return out;
}

/** `spec` of an ExtensionStatus (the extension's manifest metadata). */
export interface ExtensionStatusSpec {
  /** The squashfs image file name the extension was loaded from (e.g. `0.sqsh`). */
  image: string;
  /** The extension's manifest `metadata`, as the node read it. */
  metadata: {
    /** The extension's name. */
    name: string;
    /** The extension's own version (free text). */
    version: string;
    /** Who maintains the extension. */
    author?: string;
    /** What the extension adds to the node. */
    description?: string;
    /** Which Talos releases the extension declares it fits. */
    compatibility?: {
      /** Constraint on the Talos release. */
      talos?: {
        /** A semver range such as `>= v1.10.0`. */
        version?: string;
      };
    };
    /** Free-form extra information from the manifest. */
    extraInfo?: string;
  };
}

/** What the Image Factory's `schematic` extension says about the image it built. */
export interface SchematicInfo {
  /** The 64-hex schematic id (the extension's version). */
  id: string;
  /** Official extension images listed in the schematic (`customization.systemExtensions.officialExtensions`). */
  officialExtensions: string[];
  /** `customization.extraKernelArgs`. */
  extraKernelArgs: string[];
  /** The whole schematic document as parsed; undefined when `extraInfo` is absent or unreadable. */
  document?: unknown;
}

/** One extension running on a node. */
export interface ExtensionStatus {
  /** The node exactly as passed to `--nodes`. */
  node: string;
  /** Positional id (`0`, `1`, …, `modules.dep`), as a string; not stable across images. */
  id: string;
  /** e.g. `0.sqsh`. */
  image: string;
  /** The manifest name: identify extensions by this. */
  name: string;
  /** The manifest's `metadata.version`, as the extension declares it. */
  version: string;
  /** The manifest's author, `""` when it names none. */
  author: string;
  /** The manifest's description, `""` when it has none. */
  description: string;
  /** The Talos version constraint (`""` for modules.dep). */
  compatibility: string;
  /** The manifest's free-form `extraInfo` (the schematic, for the factory's `schematic` extension). */
  extraInfo?: string;
  /** Synthesised by the imager or Image Factory (`modules.dep`, `schematic`, `embedded-config`). */
  virtual: boolean;
  /** For the `schematic` extension: its decoded `extraInfo`. */
  schematic?: SchematicInfo;
}

/** Names of extensions the imager or the factory add by themselves. */
export const VIRTUAL_EXTENSIONS: readonly string[] = ["modules.dep", "schematic", "embedded-config"];

const MAX_SCHEMATIC_CHARS = 256 * 1024;

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Decodes the `schematic` extension's `extraInfo` (the canonical schematic YAML). */
export function decodeSchematic(id: string, extraInfo: string | undefined): SchematicInfo {
  const info: SchematicInfo = { id, officialExtensions: [], extraKernelArgs: [] };
  if (!extraInfo || extraInfo.length > MAX_SCHEMATIC_CHARS) return info;
  try {
    const docs = parseAllDocuments(extraInfo, { schema: "core" });
    const doc = Array.isArray(docs) ? docs[0] : undefined;
    if (!doc || doc.errors.length > 0) return info;
    const value = doc.toJS({ maxAliasCount: 0 }) as Record<string, unknown> | null;
    if (typeof value !== "object" || value === null) return info;
    info.document = value;
    const custom = value.customization as Record<string, unknown> | undefined;
    if (typeof custom === "object" && custom !== null) {
      info.extraKernelArgs = strings(custom.extraKernelArgs);
      const sys = custom.systemExtensions as Record<string, unknown> | undefined;
      if (typeof sys === "object" && sys !== null) info.officialExtensions = strings(sys.officialExtensions);
    }
  } catch {
    // An unreadable schematic is reported as just its id.
  }
  return info;
}

/** The typed view of one ExtensionStatus resource. */
export function toExtensionStatus(r: TalosctlResource): ExtensionStatus {
  const spec = (r.spec ?? {}) as Partial<ExtensionStatusSpec>;
  const md = (spec.metadata ?? {}) as Partial<ExtensionStatusSpec["metadata"]>;
  const name = typeof md.name === "string" ? md.name : "";
  const version = typeof md.version === "string" ? md.version : "";
  const ext: ExtensionStatus = {
    node: r.node,
    id: resourceId(r),
    image: typeof spec.image === "string" ? spec.image : "",
    name,
    version,
    author: typeof md.author === "string" ? md.author : "",
    description: typeof md.description === "string" ? md.description : "",
    compatibility: typeof md.compatibility?.talos?.version === "string" ? md.compatibility.talos.version : "",
    virtual: VIRTUAL_EXTENSIONS.includes(name),
  };
  if (typeof md.extraInfo === "string") ext.extraInfo = md.extraInfo;
  if (name === "schematic") ext.schematic = decodeSchematic(version, ext.extraInfo);
  return ext;
}

/** A node's role (`spec` of MachineType). `init` is a legacy control plane. */
export type MachineType = "controlplane" | "worker" | "init" | "unknown";
