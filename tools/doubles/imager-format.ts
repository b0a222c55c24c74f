/**
 * The byte formats of the imager's installer output, written from scratch for the imager double
 * and for tests (reference: installer-and-upgrade.md §1.5, §2.3-§2.5, "Corrections and
 * additions"): newc cpio archives, the initramfs byte layout (prepended uncompressed microcode,
 * stock zstd/xz stream, appended extension stream), a UKI (PE file with named sections), the
 * artifacts layer (files only, mode 0000, mtime 0, sorted) and the ggcr docker-archive
 * (`sha256:<hex>` config, `<hex>.tar.gz` layers, `manifest.json` last, mode 0644).
 *
 * Imports spec's tar header encoder by path so the double runs under plain Node (type stripping).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { constants, gzipSync, zstdCompressSync } from "node:zlib";
import { type TarFile, tarArchive } from "../../packages/installer/src/archive/tar.ts";
import type { ExtensionMetadata } from "../../packages/installer/src/extensions/model.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** One cpio member. */
export interface CpioFile {
  name: string;
  data?: Uint8Array | string;
  /** Full st_mode; default regular file 0644 (0o040755 for `dir`). */
  mode?: number;
  dir?: boolean;
}

const hex8 = (n: number) => n.toString(16).padStart(8, "0");
const pad4 = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);

/** A newc cpio archive ending in `TRAILER!!!`; `blockPad` pads the whole to 512 as GNU cpio does. */
export function cpioNewc(files: readonly CpioFile[], options: { blockPad?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const add = (name: string, data: Buffer, mode: number) => {
    const nameBytes = Buffer.from(`${name}\0`, "utf8");
    const header = `070701${[ino++, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, nameBytes.length, 0].map(hex8).join("")}`;
    parts.push(
      Buffer.from(header, "latin1"),
      nameBytes,
      pad4(110 + nameBytes.length),
      data,
      pad4(data.length),
    );
  };
  for (const f of files) {
    const data = f.data === undefined ? Buffer.alloc(0) : Buffer.from(f.data);
    add(f.name, data, f.mode ?? (f.dir ? 0o040755 : 0o100644));
  }
  add("TRAILER!!!", Buffer.alloc(0), 0);
  let out = Buffer.concat(parts);
  if (options.blockPad) out = Buffer.concat([out, Buffer.alloc((512 - (out.length % 512)) % 512)]);
  return out;
}

/** zstd (level 18 as the imager uses) or xz (`-C crc32 -0 -e`, through the xz binary). */
export function compress(kind: "zstd" | "xz", data: Uint8Array): Buffer {
  if (kind === "zstd") return zstdCompressSync(data, { params: { [constants.ZSTD_c_compressionLevel]: 18 } });
  return execFileSync("xz", ["-C", "crc32", "-0", "-e", "-c"], { input: data, maxBuffer: 1 << 30 });
}

/** One extension as the imager packs it: its metadata (an empty `talos` is omitted) and bytes. */
export interface PackedExtension extends ExtensionMetadata {
  /** Stand-in squashfs bytes. */
  squashfs?: Uint8Array;
}

function yamlString(s: string): string {
  return JSON.stringify(s);
}

/** `extensions.yaml` for the packed layers (go-yaml Encoder shape; readers ignore indentation). */
export function extensionsYaml(layers: readonly (PackedExtension & { image: string })[]): string {
  let out = "layers:\n";
  for (const l of layers) {
    out += `    - image: ${l.image}\n      metadata:\n        name: ${yamlString(l.name)}\n        version: ${yamlString(l.version)}\n`;
    if (l.author !== undefined) out += `        author: ${yamlString(l.author)}\n`;
    if (l.description !== undefined) out += `        description: ${yamlString(l.description)}\n`;
    out += `        compatibility:\n          talos:\n            version: ${yamlString(l.talos ?? "")}\n`;
    if (l.extraInfo !== undefined) out += `        extraInfo: ${yamlString(l.extraInfo)}\n`;
  }
  return out;
}

/** Options of {@link buildInitramfs}. */
export interface InitramfsOptions {
  /** zstd for Talos >= 1.8, xz before. */
  compression: "zstd" | "xz";
  /** Extensions in pack order; none: no extension stream (a vanilla image). */
  extensions?: readonly PackedExtension[];
  /** Add an uncompressed microcode archive in front. */
  microcode?: boolean;
  /** Stand-in rootfs.sqsh size. */
  rootfsSize?: number;
}

/** The imager's initramfs: [microcode cpio] + compressed stock cpio + compressed extension cpio. */
export function buildInitramfs(options: InitramfsOptions): Buffer {
  const parts: Buffer[] = [];
  if (options.microcode) {
    parts.push(
      cpioNewc(
        [
          { name: "kernel", dir: true },
          { name: "kernel/x86", dir: true },
          { name: "kernel/x86/microcode", dir: true },
          { name: "kernel/x86/microcode/GenuineIntel.bin", data: Buffer.alloc(300, 7) },
        ],
        { blockPad: true },
      ),
    );
  }
  const rootfs = Buffer.alloc(options.rootfsSize ?? 4096, 0x68);
  parts.push(
    compress(
      options.compression,
      cpioNewc([
        { name: ".", dir: true },
        { name: "init", data: "#!init", mode: 0o100755 },
        { name: "rootfs.sqsh", data: rootfs },
      ]),
    ),
  );
  const exts = options.extensions ?? [];
  if (exts.length > 0) {
    // The imager sorts directory names as strings: 0, 1, 10, 11, 2, ...
    const images = exts
      .map((e, i) => ({ ...e, image: `${i}.sqsh` }))
      .sort((a, b) => (a.image < b.image ? -1 : 1));
    const files: CpioFile[] = images.map((e) => ({
      name: e.image,
      data: e.squashfs ?? Buffer.from(`hsqs:${e.name}`),
    }));
    files.push({ name: "extensions.yaml", data: extensionsYaml(images) });
    files.sort((a, b) => (a.name < b.name ? -1 : 1));
    parts.push(compress(options.compression, cpioNewc(files)));
  }
  return Buffer.concat(parts);
}

/** One PE section. */
export interface PeSectionData {
  name: string;
  data: Uint8Array | string;
}

/**
 * A PE32+ image with the given sections (data aligned to 0x200, VirtualSize = data length,
 * SizeOfRawData aligned up). Enough structure for section readers; not bootable.
 */
export function buildPe(sections: readonly PeSectionData[], machine: "amd64" | "arm64" = "amd64"): Buffer {
  const FILE_ALIGN = 0x200;
  const peAt = 0x80;
  const optSize = 0xf0;
  const tableAt = peAt + 24 + optSize;
  const headerEnd = Math.ceil((tableAt + sections.length * 40) / FILE_ALIGN) * FILE_ALIGN;
  const datas = sections.map((s) => Buffer.from(s.data));
  let at = headerEnd;
  const offsets = datas.map((d) => {
    const o = at;
    at += Math.ceil(Math.max(d.length, 1) / FILE_ALIGN) * FILE_ALIGN;
    return o;
  });
  const out = Buffer.alloc(at);
  out.write("MZ", 0, "latin1");
  out.writeUInt32LE(peAt, 0x3c);
  out.writeUInt32BE(0x50450000, peAt);
  out.writeUInt16LE(machine === "amd64" ? 0x8664 : 0xaa64, peAt + 4);
  out.writeUInt16LE(sections.length, peAt + 6);
  out.writeUInt16LE(optSize, peAt + 20);
  out.writeUInt16LE(0x0022, peAt + 22);
  out.writeUInt16LE(0x20b, peAt + 24);
  let va = 0x1000;
  sections.forEach((s, i) => {
    const e = tableAt + i * 40;
    const d = datas[i] as Buffer;
    out.write(s.name.slice(0, 8), e, "latin1");
    out.writeUInt32LE(d.length, e + 8);
    out.writeUInt32LE(va, e + 12);
    out.writeUInt32LE(Math.ceil(Math.max(d.length, 1) / FILE_ALIGN) * FILE_ALIGN, e + 16);
    out.writeUInt32LE(offsets[i] as number, e + 20);
    va += Math.ceil(Math.max(d.length, 1) / 0x1000) * 0x1000;
    d.copy(out, offsets[i] as number);
  });
  return out;
}

/** A Talos >= 1.10 UKI: .sbat .osrel .cmdline [.uname] .linux .initrd + the two profiles. */
export function buildUki(options: {
  version: string;
  cmdline: string;
  initrd: Uint8Array;
  uname?: string;
  arch?: "amd64" | "arm64";
}): Buffer {
  const osrel = `NAME="Talos"\nID=talos\nVERSION_ID=${options.version}\nPRETTY_NAME="Talos (${options.version})"\n`;
  const sections: PeSectionData[] = [
    { name: ".sbat", data: "sbat,1,SBAT Version,sbat,1\n" },
    { name: ".osrel", data: osrel },
    { name: ".cmdline", data: options.cmdline },
  ];
  if (options.uname !== undefined) sections.push({ name: ".uname", data: options.uname });
  sections.push(
    { name: ".linux", data: Buffer.alloc(2048, 0x4b) },
    { name: ".initrd", data: options.initrd },
    { name: ".profile", data: "ID=main\n" },
    { name: ".profile", data: "ID=reset-maintenance\n" },
    { name: ".cmdline", data: `${options.cmdline} talos.experimental.wipe=system:EPHEMERAL,STATE` },
  );
  return buildPe(sections, options.arch ?? "amd64");
}

/** One tar member for layers (the installer's archive writer writes them). */
export type LayerFile = TarFile;

/** A plain tar of `files`, in the given order. */
export const tarOf = (files: readonly LayerFile[]): Buffer => tarArchive(files);

/** The artifacts layer: files only, mode 0000, mtime 0, sorted by path. */
export function artifactsLayer(files: readonly LayerFile[]): Buffer {
  return tarOf([...files].sort((a, b) => (a.path < b.path ? -1 : 1)).map((f) => ({ ...f, mode: 0 })));
}

/** A ggcr-style docker-archive of one image: config `sha256:<hex>`, gzip layers `<hex>.tar.gz`, manifest.json last. */
export function dockerArchive(options: {
  arch: string;
  layers: readonly Uint8Array[];
  repoTag?: string;
  env?: string[];
}): Buffer {
  const gz = options.layers.map((l) => gzipSync(l, { level: 1 }));
  const config = Buffer.from(
    JSON.stringify({
      architecture: options.arch,
      os: "linux",
      created: new Date().toISOString(),
      config: { Entrypoint: ["/bin/installer"], Env: options.env ?? [] },
      rootfs: { type: "layers", diff_ids: options.layers.map((l) => `sha256:${sha(l)}`) },
      history: options.layers.map(() => ({})),
    }),
  );
  const configName = `sha256:${sha(config)}`;
  const layerNames = gz.map((g) => `${sha(g)}.tar.gz`);
  const manifest = Buffer.from(
    JSON.stringify([
      { Config: configName, RepoTags: options.repoTag ? [options.repoTag] : null, Layers: layerNames },
    ]),
  );
  const members: LayerFile[] = [{ path: configName, data: config }];
  const seen = new Set<string>();
  gz.forEach((g, i) => {
    const name = layerNames[i] as string;
    if (seen.has(name)) return;
    seen.add(name);
    members.push({ path: name, data: g });
  });
  members.push({ path: "manifest.json", data: manifest });
  return tarOf(members);
}
