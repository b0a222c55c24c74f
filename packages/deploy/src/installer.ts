/**
 * The installer as data: its reference and digest, the Talos version it installs, and the
 * extensions it will install (names and versions, as its extensions.yaml lists them). Kept small
 * so that @talos-ext/installer's inspection fills it (`talos-ext deploy --extension` does) or callers describe it.
 */
import { z } from "zod";
import { DeployError } from "./errors.ts";

/** One extension an installer installs (an `extensions.yaml` entry's metadata). */
export interface InstallerExtension {
  /** The manifest name, as a node's ExtensionStatus shows it (no `siderolabs/` prefix). */
  name: string;
  /** The manifest version. */
  version: string;
  /** The Talos version constraint of the manifest (`compatibility.talos.version`); empty: any. */
  compatibility?: string;
}

/** What an installer image installs. */
export interface InstallerContent {
  /** The image reference nodes pull (`--image`), e.g. `reg.example/installer:v1.14.1`. */
  reference: string;
  /** The manifest digest (`sha256:…`) the reference resolved to when it was inspected. */
  digest?: string;
  /** The Talos version it installs, e.g. `v1.14.1`. */
  talosVersion: string;
  /** Every extension it installs, in its order; virtual ones (`schematic`, `modules.dep`) when known. */
  extensions: InstallerExtension[];
}

const REF_RE = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]{0,511}$/;
const VERSION_RE = /^v\d{1,4}\.\d{1,4}\.\d{1,6}(?:-[0-9A-Za-z.-]{1,64})?$/;

const extensionSchema = z.strictObject({
  name: z.string().min(1).max(253),
  version: z.string().min(1).max(256),
  compatibility: z.string().max(1024).optional(),
});

/** The schema of an `InstallerContent` (strict: a misspelled key is an error). */
export const installerContentSchema = z.strictObject({
  reference: z.string().regex(REF_RE, "not an image reference"),
  digest: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/, "not a sha256 digest")
    .optional(),
  talosVersion: z.string().regex(VERSION_RE, "not a Talos version such as v1.14.1"),
  extensions: z.array(extensionSchema).max(1024),
});

/**
 * Checks an installer description (from JSON or code); DEPLOY_INVALID_INPUT names the field.
 * Duplicate extension names are refused: a node cannot run two extensions of one name.
 */
export function parseInstallerContent(value: unknown, source = "installer"): InstallerContent {
  const r = installerContentSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const at = issue.path.length ? issue.path.join(".") : "(top level)";
    throw new DeployError({
      code: "DEPLOY_INVALID_INPUT",
      step: "input",
      message: `${source}: ${at}: ${issue.message}`,
      hint: "An installer is { reference, digest?, talosVersion, extensions: [{ name, version, compatibility? }] }.",
    });
  }
  const seen = new Set<string>();
  for (const e of r.data.extensions) {
    if (seen.has(e.name)) {
      throw new DeployError({
        code: "DEPLOY_INVALID_INPUT",
        step: "input",
        message: `${source}: extension ${e.name} is listed twice`,
        hint: "List every extension once.",
      });
    }
    seen.add(e.name);
  }
  return r.data as InstallerContent;
}
