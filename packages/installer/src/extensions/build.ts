/**
 * Our builds as set entries: the extension image we built (an OCI layout or archive, validated
 * with spec's Talos rules) plus the reference it was pushed to, pinned by the digest the push
 * returned. The manifest gives the name, version and constraint nodes will show.
 */
import { TalosExtError, validateExtension } from "@talos-ext/spec";
import { installerError } from "../codes.ts";
import { type ExtensionSetEntry, extensionEntry, PINNED_REF_RE } from "./model.ts";

/** Options of {@link buildEntry}. */
export interface BuildEntryOptions {
  /** Platform to read from a multi-platform layout (`linux/amd64`). */
  platform?: string;
  /** Validate against this Talos version (its allow-list and the constraint). */
  talosVersion?: string;
}

/** Reads a built extension image and returns its entry (origin `build`), pinned to `pushedRef`. */
export async function buildEntry(
  image: string,
  pushedRef: string,
  options: BuildEntryOptions = {},
): Promise<ExtensionSetEntry> {
  if (!PINNED_REF_RE.test(pushedRef)) {
    throw installerError(
      "EXTSET_INVALID",
      `"${pushedRef.slice(0, 200)}" is not pinned by digest`,
      "pass <ref>@sha256:<digest> as pushLayout returned it",
    );
  }
  const report = await validateExtension(image, {
    ...(options.platform ? { platform: options.platform } : {}),
    ...(options.talosVersion ? { talosVersion: options.talosVersion } : {}),
  });
  const errors = report.diagnostics.filter((d) => d.severity === "error");
  if (!report.ok || !report.manifest) {
    throw new TalosExtError({
      code: "EXTSET_INVALID",
      message: `${image} is not a valid extension image (${errors.length} error(s)${errors[0] ? `, first: ${errors[0].code} ${errors[0].message}` : ""})`,
      hint: "run talos-ext validate on it",
      diagnostics: report.diagnostics,
    });
  }
  const md = report.manifest.metadata;
  const talos = md.compatibility.talos.version;
  return extensionEntry({
    name: md.name,
    image: pushedRef,
    version: md.version,
    origin: "build",
    ...(talos ? { talos } : {}),
    ...(md.author ? { author: md.author } : {}),
    ...(md.description ? { description: md.description } : {}),
  });
}
