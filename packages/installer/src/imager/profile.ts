/**
 * Imager profiles: a strict zod schema of the profile the imager reads from stdin (`imager -`),
 * because the imager's own decoder silently drops misspelled keys, and a generator for
 * installer profiles that applies each version's rules before anything runs:
 * - arch is explicit (the imager defaults to its own arch);
 * - the base installer follows the version: `installer-base:<v>` >= 1.10, `installer:<v>` before;
 * - kernel args: none on 1.5, SecureBoot only on 1.6-1.9, always from 1.10;
 * - no META for installers; embedded machine config >= 1.12; overlays >= 1.7;
 * - every extension's Talos constraint is checked against the version.
 */
import { z } from "zod";
import { installerError } from "../codes.ts";
import { checkCompatible, type ExtensionSetEntry } from "../extensions/model.ts";

/** Architectures the imager builds. */
export const ARCHES = ["amd64", "arm64"] as const;
/** One of {@link ARCHES}. */
export type Arch = (typeof ARCHES)[number];

const fileAsset = z.strictObject({ path: z.string().min(1) });
const containerAsset = z.strictObject({
  /** Image reference to pull. */
  imageRef: z.string().min(1).optional(),
  /** Pull over plain HTTP / unverified TLS. */
  forceInsecure: z.boolean().optional(),
  /** A plain filesystem tar (not an image tar). */
  tarballPath: z.string().min(1).optional(),
  /** An OCI layout directory. */
  ociPath: z.string().min(1).optional(),
});

/** Strict schema of an imager profile (the keys of talos `pkg/imager/profile`). */
export const imagerProfileSchema = z.strictObject({
  arch: z.enum(ARCHES),
  platform: z.string().min(1),
  secureboot: z.boolean().optional(),
  version: z
    .string()
    .regex(/^v\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, "a Talos version with its v, e.g. v1.11.2"),
  customization: z
    .strictObject({
      extraKernelArgs: z.array(z.string()).optional(),
      metaContents: z
        .array(z.strictObject({ key: z.number().int().min(0).max(255), value: z.string() }))
        .optional(),
      embeddedMachineConfiguration: z.string().optional(),
    })
    .optional(),
  input: z.strictObject({
    kernel: fileAsset.optional(),
    initramfs: fileAsset.optional(),
    sdStub: fileAsset.optional(),
    sdBoot: fileAsset.optional(),
    baseInstaller: containerAsset.optional(),
    imageCache: containerAsset.optional(),
    overlayInstaller: containerAsset.optional(),
    /** SecureBoot signing inputs (key and certificate paths, signer addresses), passed through. */
    secureboot: z.record(z.string(), z.unknown()).optional(),
    systemExtensions: z.array(containerAsset).optional(),
  }),
  overlay: z
    .strictObject({
      name: z.string(),
      image: containerAsset,
      options: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  output: z.strictObject({
    kind: z.enum(["iso", "image", "installer", "kernel", "initramfs", "uki", "cmdline"]),
    outFormat: z.enum(["raw", ".tar.gz", ".xz", ".gz", ".zst"]),
    imageOptions: z.record(z.string(), z.unknown()).optional(),
    isoOptions: z.record(z.string(), z.unknown()).optional(),
  }),
});

/** A validated imager profile. */
export type ImagerProfile = z.output<typeof imagerProfileSchema>;

/** Validates a profile (strictly: misspelled keys are errors here, not silently dropped). */
export function validateImagerProfile(input: unknown): ImagerProfile {
  const r = imagerProfileSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const keys = issue?.code === "unrecognized_keys" ? ` (${issue.keys.join(", ")})` : "";
    throw installerError(
      "IMAGER_PROFILE_INVALID",
      `imager profile: ${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}${keys}`,
      "the imager would drop unknown keys silently; fix the profile",
    );
  }
  return r.data;
}

/** Parsed `vX.Y.Z` as numbers. */
export function talosMinor(version: string): {
  /** The X of vX.Y.Z. */
  major: number;
  /** The Y of vX.Y.Z. */
  minor: number;
  /** The Z of vX.Y.Z (anything after it, such as `-beta.0`, is ignored). */
  patch: number;
} {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) {
    throw installerError(
      "IMAGER_PROFILE_INVALID",
      `"${version}" is not a Talos version`,
      "write it as v1.11.2",
    );
  }
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

const atLeast = (v: string, minor: number) => {
  const t = talosMinor(v);
  return t.major > 1 || (t.major === 1 && t.minor >= minor);
};

/** The base installer the imager of `version` defaults to. */
export function defaultBaseInstaller(version: string): string {
  const v = version.startsWith("v") ? version : `v${version}`;
  return atLeast(v, 10) ? `ghcr.io/siderolabs/installer-base:${v}` : `ghcr.io/siderolabs/installer:${v}`;
}

/** The imager container of a Talos version. */
export function imagerImage(version: string): string {
  return `ghcr.io/siderolabs/imager:${version.startsWith("v") ? version : `v${version}`}`;
}

/** Where one extension comes from. */
export type ExtensionSource =
  | {
      /** A registry reference (pinned by digest, ideally). */
      imageRef: string;
      /** Pull it over plain HTTP (a local registry without TLS). */
      forceInsecure?: boolean;
    }
  | {
      /** An OCI layout directory (the imager picks linux/<arch>). */
      ociPath: string;
    }
  | {
      /** A plain filesystem tar holding manifest.yaml and rootfs/. */
      tarballPath: string;
    };

/** Options of {@link installerProfile}. */
export interface InstallerProfileOptions {
  /** Talos version to build (the imager's own version). */
  version: string;
  /** Target architecture; required, the imager's default is its own arch. */
  arch: Arch;
  /** Platform (`metal`, `aws`, ...); default `metal`. Its kernel args go into the >= 1.10 UKI. */
  platform?: string;
  /** SecureBoot installer; default false. */
  secureboot?: boolean;
  /** Extensions in order: sources, or set entries (their pinned image is used and their constraint checked). */
  extensions: readonly (ExtensionSource | ExtensionSetEntry)[];
  /** Kernel args, where the version accepts them for installers. */
  extraKernelArgs?: readonly string[];
  /** Base installer reference; default per version. */
  baseInstaller?: string;
  /** Machine config embedded as the `embedded-config` virtual extension (>= 1.12). */
  embeddedMachineConfiguration?: string;
  /** Pull over plain HTTP (local registries). */
  insecure?: boolean;
}

function isEntry(x: ExtensionSource | ExtensionSetEntry): x is ExtensionSetEntry {
  return "origin" in x;
}

/** Builds a validated installer profile; refuses what the version would refuse. */
export function installerProfile(options: InstallerProfileOptions): ImagerProfile {
  const version = options.version.startsWith("v") ? options.version : `v${options.version}`;
  const t = talosMinor(version);
  if (t.major === 1 && t.minor < 5) {
    throw installerError(
      "IMAGER_PROFILE_INVALID",
      `the imager exists from Talos 1.5, not ${version}`,
      "target Talos 1.5 or later",
    );
  }
  if (!(ARCHES as readonly string[]).includes(options.arch)) {
    throw installerError(
      "IMAGER_PROFILE_INVALID",
      `arch "${options.arch}" is not amd64 or arm64`,
      "pass the nodes' architecture",
    );
  }
  const secureboot = options.secureboot ?? false;
  const args = options.extraKernelArgs ?? [];
  if (args.length > 0) {
    if (t.major === 1 && t.minor === 5) {
      throw installerError(
        "IMAGER_PROFILE_INVALID",
        "Talos 1.5 installers accept no kernel args",
        "drop extraKernelArgs, or target Talos 1.10+ (where they go into the UKI)",
      );
    }
    if (!atLeast(version, 10) && !secureboot) {
      throw installerError(
        "IMAGER_PROFILE_INVALID",
        `Talos ${version} installers accept kernel args only with SecureBoot`,
        "drop extraKernelArgs, build a SecureBoot installer, or target Talos 1.10+",
      );
    }
  }
  if (options.embeddedMachineConfiguration && !atLeast(version, 12)) {
    throw installerError(
      "IMAGER_PROFILE_INVALID",
      `embedded machine config needs Talos 1.12+, not ${version}`,
      "drop it or target 1.12+",
    );
  }
  const systemExtensions = options.extensions.map((x) => {
    if (isEntry(x)) {
      checkCompatible(x, version);
      if (!x.image) {
        throw installerError(
          "IMAGER_PROFILE_INVALID",
          `extension ${x.name} has no image (found on a node; nodes do not record image references)`,
          "rebuild it or give its pinned reference",
        );
      }
      return { imageRef: x.image, ...(options.insecure ? { forceInsecure: true } : {}) };
    }
    if ("imageRef" in x && options.insecure && x.forceInsecure === undefined)
      return { ...x, forceInsecure: true };
    return { ...x };
  });
  const base = options.baseInstaller ?? defaultBaseInstaller(version);
  return validateImagerProfile({
    arch: options.arch,
    platform: options.platform ?? "metal",
    secureboot,
    version,
    customization: {
      ...(args.length ? { extraKernelArgs: [...args] } : {}),
      ...(options.embeddedMachineConfiguration
        ? { embeddedMachineConfiguration: options.embeddedMachineConfiguration }
        : {}),
    },
    input: {
      baseInstaller: { imageRef: base, ...(options.insecure ? { forceInsecure: true } : {}) },
      systemExtensions,
    },
    output: { kind: "installer", outFormat: "raw" },
  });
}

/** The output file the imager of `version` writes for an installer profile. */
export function installerOutputName(
  profile: Pick<ImagerProfile, "arch" | "platform" | "secureboot" | "version">,
): string {
  const t = talosMinor(profile.version);
  const sb = profile.secureboot ? "-secureboot" : "";
  if (t.major === 1 && t.minor < 6) return `${profile.platform}-${profile.arch}${sb}-installer.tar`;
  return `installer-${profile.arch}${sb}.tar`;
}
