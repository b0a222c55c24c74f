/**
 * The extension-set model: one entry per extension a node should run, identified by its
 * manifest name (what `talosctl get extensions` shows), with the image pinned by digest, the
 * Talos constraint, and where the entry came from.
 */
import { satisfiesConstraint } from "@talos-ext/spec";
import { z } from "zod";
import { installerError } from "../codes.ts";

/**
 * An extension's metadata as Talos records it: a layer of the initramfs's `extensions.yaml`, and
 * the `metadata` of the ExtensionStatus resource a node shows for it.
 */
export interface ExtensionMetadata {
  /** Manifest name. */
  name: string;
  /** Manifest version. */
  version: string;
  /** Manifest author. */
  author?: string;
  /** Manifest description. */
  description?: string;
  /** Talos constraint. */
  talos?: string;
  /** extraInfo (the factory's schematic extension carries the schematic YAML). */
  extraInfo?: string;
}

/** Where an entry came from: the release's official catalog, our own build, or a node. */
export const ORIGINS = ["official", "build", "node"] as const;
/** One of {@link ORIGINS}. */
export type Origin = (typeof ORIGINS)[number];

/** Manifest names: what Talos shows; official ones are bare (`iscsi-tools`, no `siderolabs/`). */
export const MANIFEST_NAME_RE = /^[a-z0-9](?:[a-z0-9._-]{0,126}[a-z0-9])?$/;
/** `<registry>/<repo>[:tag]@sha256:<64 hex>`: an image pinned by digest. */
export const PINNED_REF_RE = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

/** Zod schema of one entry (strict). */
export const extensionEntrySchema = z
  .strictObject({
    /** Manifest name, e.g. `iscsi-tools` or `multipath-tools`. */
    name: z
      .string()
      .regex(MANIFEST_NAME_RE, "not a manifest name (lowercase letters, digits, '.', '_', '-')"),
    /** Image reference pinned by digest; absent only for node entries not resolved yet (nodes do not record it). */
    image: z.string().regex(PINNED_REF_RE, "not pinned by digest (<ref>@sha256:<64 hex>)").optional(),
    /** Manifest version (`v0.2.0`), or the official image tag. */
    version: z.string().optional(),
    /** Talos version constraint from the manifest (`>= v1.1.0`); empty or absent: any. */
    talos: z.string().optional(),
    /** Where the entry came from. */
    origin: z.enum(ORIGINS),
    /** Official only: the repository path the factory knows it by (`siderolabs/iscsi-tools`). */
    officialName: z.string().optional(),
    /** Manifest author. */
    author: z.string().optional(),
    /** Manifest description. */
    description: z.string().optional(),
  })
  .superRefine((e, ctx) => {
    if (e.origin !== "node" && e.image === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["image"],
        message: `a ${e.origin} entry needs an image pinned by digest`,
      });
    }
    if (e.talos) {
      const r = satisfiesConstraint(e.talos, "1.0.0");
      if (r.reason === "invalid")
        ctx.addIssue({ code: "custom", path: ["talos"], message: r.error ?? "invalid constraint" });
    }
  });

/** One extension of a set. */
export type ExtensionSetEntry = z.output<typeof extensionEntrySchema>;

/** Validates an entry given as data; bad input throws `EXTSET_INVALID`. */
export function extensionEntry(input: unknown): ExtensionSetEntry {
  const r = extensionEntrySchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const name =
      typeof (input as { name?: unknown })?.name === "string" ? ` "${(input as { name: string }).name}"` : "";
    throw installerError(
      "EXTSET_INVALID",
      `extension entry${name}: ${issue?.path.join(".") || "(entry)"}: ${issue?.message ?? "invalid"}`,
      "entries need a manifest name, an origin and (except node entries) an image pinned by @sha256: digest",
    );
  }
  return r.data;
}

/** Whether an extension may run on `talosVersion`; throws `EXTSET_INCOMPATIBLE` with Talos's text when not. */
export function checkCompatible(entry: ExtensionSetEntry, talosVersion: string): void {
  if (!entry.talos) return;
  const r = satisfiesConstraint(entry.talos, talosVersion);
  if (!r.ok) {
    throw installerError(
      "EXTSET_INCOMPATIBLE",
      `extension ${entry.name}${entry.version ? ` ${entry.version}` : ""}: ${r.error ?? "incompatible"}`,
      "use a version of the extension built for this Talos release",
    );
  }
}
