/**
 * Composition route: a set of only official extensions goes to the Image Factory (schematic
 * registered, `<platform>-installer/<id>:<v>` returned, the factory builds it on pull); any
 * custom extension goes to the imager, once per arch, and the docker-archives are pushed and
 * joined in one index. The whole desired set goes into the installer: an upgrade replaces the
 * set, so nothing the nodes run is left out unless it was removed by name.
 */
import { join } from "node:path";
import type { RegistryClient, RegistryClientOptions } from "@talos-ext/image";
import { installerError } from "../codes.ts";
import type { ExtensionSetEntry } from "../extensions/model.ts";
import type { FactoryClient } from "../factory/client.ts";
import { type Arch, installerProfile, talosMinor } from "../imager/profile.ts";
import { runImager } from "../imager/run.ts";
import { formatFactoryInstallerRef } from "../schematic/installer-ref.ts";
import { type Schematic, schematicForExtensions, schematicId } from "../schematic/model.ts";
import { pushInstallerArchives } from "./push.ts";

/** Which backend a set goes to. */
export type Route = "factory" | "imager";

/** Options of {@link composeInstaller}. */
export interface ComposeOptions {
  /** The desired set, in order (see `desiredSet`). */
  entries: readonly ExtensionSetEntry[];
  /** Target Talos version. */
  version: string;
  /** Architectures; default `["amd64"]`. The factory always builds both. */
  arches?: readonly Arch[];
  /** Platform; default `metal`. */
  platform?: string;
  /** SecureBoot installer. */
  secureboot?: boolean;
  /** Kernel args (where the version accepts them). */
  extraKernelArgs?: readonly string[];
  /** Factory route: the client (the schematic is registered with POST /schematics). */
  factory?: FactoryClient;
  /** Factory route: registry host of the factory; default the factory URL's host. */
  factoryRegistry?: string;
  /** Force a route; default: factory when every entry is official and a factory is given. */
  route?: Route;
  /** Imager route: where the installer is pushed (`registry/repo:tag`). */
  target?: string;
  /** Imager route: work directory for the imager's output. */
  workDir?: string;
  /** Imager route: a local imager binary (default docker). */
  imagerBinary?: string;
  /** Imager route: base installer override. */
  baseInstaller?: string;
  /** Imager route: plain HTTP pulls for local registries. */
  insecure?: boolean;
  /** Registry client options for the push. */
  registry?: RegistryClientOptions & {
    /** A client to reuse (its connections, tokens and progress listener); default: a new one. */
    client?: RegistryClient;
  };
}

/** What was composed. */
export interface ComposedInstaller {
  /** The route taken. */
  route: Route;
  /** The installer reference to upgrade with (pinned by digest on the imager route). */
  ref: string;
  /** Factory route: the schematic and its ID. */
  schematic?: {
    /**
     * The ID the factory returned, the one in `ref`: an auth-enabled factory sets an owner, which
     * changes it.
     */
    id: string;
    /** The ID computed here from `document`; equal to `id` on a factory without auth. */
    offlineId: string;
    /** The schematic registered with the factory. */
    document: Schematic;
  };
  /** Imager route: the per-arch archives and manifest digests. */
  images?: {
    /** The architecture (`amd64`, `arm64`) the installer runs on. */
    arch: string;
    /** The imager's installer archive (docker-archive tar) for that architecture. */
    file: string;
    /** Digest of that architecture's image manifest as pushed. */
    digest: string;
  }[];
}

/** The route a set takes: the factory builds only official extensions. */
export function routeFor(entries: readonly ExtensionSetEntry[]): Route {
  // An empty set is the empty schematic: the factory's vanilla installer.
  return entries.every((e) => e.origin === "official" && e.officialName) ? "factory" : "imager";
}

/** Composes the installer for a desired set. */
export async function composeInstaller(options: ComposeOptions): Promise<ComposedInstaller> {
  const unresolved = options.entries.filter((e) => e.image === undefined && e.origin !== "official");
  if (unresolved.length > 0) {
    throw installerError(
      "EXTSET_INVALID",
      `no image for ${unresolved.map((e) => e.name).join(", ")} (found on nodes; nodes do not record image references)`,
      "rebuild these extensions (request them as builds) or remove them by name",
    );
  }
  const route =
    options.route ?? (routeFor(options.entries) === "factory" && options.factory ? "factory" : "imager");
  const version = options.version.startsWith("v") ? options.version : `v${options.version}`;
  if (route === "factory") {
    if (!options.factory)
      throw installerError("FACTORY_URL_INVALID", "the factory route needs a factory client", "pass factory");
    const custom = options.entries.filter((e) => e.origin !== "official" || !e.officialName);
    if (custom.length > 0) {
      throw installerError(
        "EXTSET_INVALID",
        `the Image Factory cannot build custom extensions (${custom.map((e) => e.name).join(", ")})`,
        "use the imager route",
      );
    }
    const t = talosMinor(version);
    if (options.extraKernelArgs?.length && t.major === 1 && t.minor < 10 && !options.secureboot) {
      throw installerError(
        "INSTALLER_OPTION_UNSUPPORTED",
        `factory installers for Talos ${version} ignore kernel args without SecureBoot`,
        "drop the kernel args, build a SecureBoot installer, or target Talos 1.10+",
      );
    }
    const document = schematicForExtensions(
      options.entries.map((e) => e.officialName as string),
      options.extraKernelArgs?.length ? { extraKernelArgs: options.extraKernelArgs } : {},
    );
    const created = await options.factory.createSchematic(document);
    // Auth-enabled factories set the owner, which changes the ID: theirs is the one that counts.
    const id = created.id;
    const ref = formatFactoryInstallerRef({
      host: options.factoryRegistry ?? options.factory.url.host,
      schematicId: id,
      version,
      platform: options.platform ?? "metal",
      secureboot: options.secureboot ?? false,
    });
    return { route, ref, schematic: { id, offlineId: schematicId(document), document } };
  }
  if (!options.target)
    throw installerError(
      "INSTALLER_PUSH_INVALID",
      "the imager route needs a target reference",
      "pass target",
    );
  const arches = options.arches ?? ["amd64"];
  const workDir = options.workDir ?? join(process.cwd(), "_out");
  const built: { arch: string; file: string }[] = [];
  for (const arch of arches) {
    const profile = installerProfile({
      version,
      arch,
      platform: options.platform ?? "metal",
      secureboot: options.secureboot ?? false,
      extensions: [...options.entries],
      ...(options.extraKernelArgs ? { extraKernelArgs: options.extraKernelArgs } : {}),
      ...(options.baseInstaller ? { baseInstaller: options.baseInstaller } : {}),
      ...(options.insecure ? { insecure: true } : {}),
    });
    const run = await runImager({
      profile,
      outDir: join(workDir, arch),
      entries: options.entries,
      ...(options.imagerBinary ? { imagerBinary: options.imagerBinary } : {}),
    });
    built.push({ arch, file: run.output });
  }
  const pushed = await pushInstallerArchives(
    built.map((b) => b.file),
    options.target,
    options.registry ?? {},
  );
  return {
    route,
    ref: pushed.ref,
    images: pushed.images.map((p, i) => ({
      arch: p.arch,
      file: (built[i] as { file: string }).file,
      digest: p.digest,
    })),
  };
}
