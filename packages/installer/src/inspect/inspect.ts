/**
 * Installer inspection: exactly the extensions a node booted from an installer will report.
 * Talos >= 1.10 installers carry a UKI (`usr/install/<arch>/vmlinuz.efi`) whose `.initrd`
 * holds the initramfs; <= 1.9 imager output carries `vmlinuz` + `initramfs.xz` with the
 * extension stream appended; published <= 1.9 installers (built by a Dockerfile) have no
 * extension stream at all: "no extensions". Everything is streamed, layer by layer.
 */
import { ByteReader, decodeYaml, readTar, TalosExtError } from "@talos-ext/spec";
import { installerError } from "../codes.ts";
import type { ExtensionMetadata } from "../extensions/model.ts";
import { type NodeExtensions, nodeExtensions } from "../extensions/node.ts";
import { type InitramfsContents, readInitramfs } from "./initramfs.ts";
import { readUki, type UkiInfo } from "./pe.ts";
import { type ImageSource, type OpenSourceOptions, openImageSource } from "./sources.ts";

/** One layer of `extensions.yaml`, as the node's ExtensionStatus will show it. */
export interface InstalledExtension extends ExtensionMetadata {
  /** The ExtensionStatus id: the squashfs name without `.sqsh` (`0`, `1`, `modules.dep`). */
  id: string;
  /** `0.sqsh`. */
  image: string;
  /** Whether the squashfs named by `image` is in the initramfs. */
  present: boolean;
}

/** What an installer image will boot. */
export interface InstallerReport {
  /** What was inspected. */
  source: string;
  /** How it was read. */
  sourceKind: ImageSource["kind"];
  /** Target architecture (config, else the `usr/install/<arch>` directory). */
  arch: string;
  /** Talos version: UKI `.osrel` `VERSION_ID` (with its `v`), else the config's `VERSION` env. */
  talosVersion?: string;
  /** `uki` (>= 1.10, or signed SecureBoot UKI), `kernel-initramfs` (<= 1.9). */
  boot: "uki" | "kernel-initramfs";
  /** The boot asset paths found in the image (after later layers override earlier ones). */
  assets: string[];
  /** Number of image layers (2 from the imager, 3 with an overlay). */
  layerCount: number;
  /** UKI details (first `.cmdline`, `.osrel`, `.uname`). */
  uki?: Omit<UkiInfo, "sections"> & {
    /** Names of the UKI's PE sections (`.linux`, `.initrd`, `.cmdline`, …), in file order. */
    sections: string[];
  };
  /** The compressed streams of the initramfs, in order. */
  initramfsStreams: string[];
  /** The extensions the node will report, in order (virtual ones included). */
  extensions: InstalledExtension[];
  /** The same as an extension set (real ones as entries; schematic decoded; modules.dep noted). */
  set: NodeExtensions;
  /** docker-archive `RepoTags` (the base installer's tag). */
  repoTags?: string[];
}

const ASSET_RE =
  /^usr\/install\/([a-z0-9]+)\/(vmlinuz\.efi|vmlinuz\.efi\.signed|vmlinuz|initramfs\.xz|systemd-boot\.efi|systemd-stub\.efi)$/;

interface Found {
  uki?: { info: UkiInfo; initramfs: InitramfsContents; path: string };
  initramfs?: { contents: InitramfsContents; path: string };
  assets: Map<string, string>;
}

function configArch(config: Record<string, unknown>): string | undefined {
  return typeof config.architecture === "string" ? config.architecture : undefined;
}

function configVersion(config: Record<string, unknown>): string | undefined {
  const env = (config.config as { Env?: unknown } | undefined)?.Env;
  if (!Array.isArray(env)) return undefined;
  const v = env.find((e): e is string => typeof e === "string" && e.startsWith("VERSION="));
  return v?.slice("VERSION=".length);
}

function parseExtensionsYaml(text: string, files: Map<string, number>, where: string): InstalledExtension[] {
  const bad = (why: string) =>
    installerError(
      "INSPECT_EXTENSIONS_YAML_INVALID",
      `${where} extensions.yaml: ${why}`,
      "rebuild the installer",
    );
  let value: unknown;
  try {
    value = decodeYaml(text, { file: "extensions.yaml" }).value;
  } catch (e) {
    throw bad((e as Error).message);
  }
  const layers = (value as { layers?: unknown } | null)?.layers;
  if (layers === null || layers === undefined) return [];
  if (!Array.isArray(layers)) throw bad("layers is not a list");
  return layers.map((l, i) => {
    const layer = l as { image?: unknown; metadata?: Record<string, unknown> } | null;
    const md = layer?.metadata;
    if (typeof layer?.image !== "string" || !md || typeof md.name !== "string")
      throw bad(`layer ${i} lacks image or metadata.name`);
    const image = layer.image;
    const talos = (
      (md.compatibility as Record<string, unknown> | undefined)?.talos as Record<string, unknown> | undefined
    )?.version;
    const ext: InstalledExtension = {
      id: image.replace(/\.sqsh$/, ""),
      image,
      name: md.name,
      version: typeof md.version === "string" ? md.version : "",
      present: files.has(image.replace(/^\/+/, "")),
    };
    if (typeof md.author === "string") ext.author = md.author;
    if (typeof md.description === "string") ext.description = md.description;
    if (typeof talos === "string" && talos !== "") ext.talos = talos;
    if (typeof md.extraInfo === "string") ext.extraInfo = md.extraInfo;
    return ext;
  });
}

/** Reads the boot assets of every layer, later layers overriding earlier ones. */
async function scanLayers(src: ImageSource, arch: string | undefined): Promise<Found> {
  const found: Found = { assets: new Map() };
  for (const layer of src.layers) {
    for await (const entry of readTar(layer.open(), { source: `${src.name} ${layer.id}` })) {
      const base = entry.path.slice(entry.path.lastIndexOf("/") + 1);
      if (base.startsWith(".wh.")) {
        found.assets.delete(entry.path.slice(0, entry.path.lastIndexOf("/") + 1) + base.slice(4));
        continue;
      }
      const m = ASSET_RE.exec(entry.path);
      if (!m || entry.type !== "file") continue;
      if (arch !== undefined && m[1] !== arch) continue;
      found.assets.set(entry.path, layer.id);
      const where = `${src.name}: ${entry.path}`;
      if (m[2] === "vmlinuz.efi" || m[2] === "vmlinuz.efi.signed") {
        let initramfs: InitramfsContents | undefined;
        const reader = new ByteReader(entry.body(), (e) =>
          e instanceof TalosExtError
            ? e
            : installerError("INSPECT_PE_INVALID", `${where}: ${(e as Error).message}`, "check the image"),
        );
        const info = await readUki(reader, where, async (initrd) => {
          initramfs = await readInitramfs(initrd, `${where} .initrd`);
        });
        await reader.close();
        found.uki = { info, initramfs: initramfs ?? { files: new Map(), streams: [] }, path: entry.path };
      } else if (m[2] === "initramfs.xz") {
        found.initramfs = { contents: await readInitramfs(entry.body(), where), path: entry.path };
      }
    }
  }
  // A whited-out asset no longer counts.
  if (found.uki && !found.assets.has(found.uki.path)) delete found.uki;
  if (found.initramfs && !found.assets.has(found.initramfs.path)) delete found.initramfs;
  return found;
}

/** Options of {@link inspectInstaller}. */
export interface InspectInstallerOptions extends OpenSourceOptions {}

/**
 * Inspects an installer (registry reference, docker-archive tar, OCI layout directory or
 * archive) and lists exactly the extensions a node booted from it will report.
 */
export async function inspectInstaller(
  input: string,
  options: InspectInstallerOptions = {},
): Promise<InstallerReport> {
  const src = await openImageSource(input, options);
  const arch = options.arch ?? configArch(src.config);
  const found = await scanLayers(src, arch);
  const assets = [...found.assets.keys()].sort();
  const assetArch = assets.map((a) => ASSET_RE.exec(a)?.[1]).find((a) => a !== undefined);
  const boot = found.uki ? "uki" : found.initramfs ? "kernel-initramfs" : undefined;
  if (!boot) {
    throw installerError(
      "INSPECT_NOT_INSTALLER",
      `${input}: no usr/install/${arch ?? "<arch>"}/vmlinuz.efi and no initramfs.xz in ${src.layers.length} layer(s)`,
      "pass an installer image (installer-base and imager images are not installers)",
    );
  }
  const contents = found.uki?.initramfs ?? (found.initramfs?.contents as InitramfsContents);
  const where = found.uki?.path ?? found.initramfs?.path ?? "";
  const extensions = contents.extensionsYaml
    ? parseExtensionsYaml(contents.extensionsYaml, contents.files, where)
    : [];
  const set = nodeExtensions(
    extensions.map((e) => ({
      metadata: { id: e.id },
      spec: {
        image: e.image,
        metadata: {
          name: e.name,
          version: e.version,
          ...(e.author !== undefined ? { author: e.author } : {}),
          ...(e.description !== undefined ? { description: e.description } : {}),
          ...(e.talos !== undefined ? { compatibility: { talos: { version: e.talos } } } : {}),
          ...(e.extraInfo !== undefined ? { extraInfo: e.extraInfo } : {}),
        },
      },
    })),
  );
  const report: InstallerReport = {
    source: src.name,
    sourceKind: src.kind,
    arch: arch ?? assetArch ?? "unknown",
    boot,
    assets,
    layerCount: src.layers.length,
    initramfsStreams: contents.streams,
    extensions,
    set,
  };
  const version = found.uki?.info.osrel.VERSION_ID ?? configVersion(src.config);
  if (version !== undefined) report.talosVersion = version;
  if (found.uki) {
    const { sections, ...rest } = found.uki.info;
    report.uki = { ...rest, sections: sections.map((s) => s.name) };
  }
  if (src.repoTags) report.repoTags = src.repoTags;
  return report;
}
