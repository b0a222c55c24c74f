#!/usr/bin/env node
/**
 * A stand-in for the Talos imager (`imager -`, profile on stdin), which cannot run here (its
 * image and boot assets are not available offline). It follows the documented contract
 * (reference: installer-and-upgrade.md §1, §2, "Corrections and additions"):
 * - one positional argument, `-` (read a profile from stdin); `--output DIR` (default /out);
 * - the profile is decoded leniently (unknown keys dropped, as the real one does);
 * - extensions from `tarballPath` (plain filesystem tar), `ociPath` (OCI layout, linux/<arch>)
 *   or `imageRef` (pulled anonymously; plain HTTP with forceInsecure or for 127.0.0.1/localhost):
 *   only `manifest.yaml` and `rootfs/` at top level, `version: v1alpha1`, constraint checked
 *   against the profile version;
 * - kernel args for installers: none on 1.5, SecureBoot only on 1.6-1.9, always >= 1.10;
 * - output `installer-<arch>[-secureboot].tar` (1.5: `<platform>-<arch>[-secureboot]-installer.tar`):
 *   a docker-archive whose layer 1 is the base installer's first layer (positional rule) and
 *   whose artifacts layer holds a UKI (>= 1.10) or vmlinuz + initramfs.xz (<= 1.9), the
 *   initramfs carrying the appended extension stream (zstd >= 1.8, xz before);
 * - exit codes 0-7 from v1.14.0-alpha.2, 1 for every failure before.
 * Environment: IMAGER_DOUBLE_LOG (append one JSON line per run), IMAGER_DOUBLE_FAIL (exit with
 * this code after validation, to test failure handling).
 */
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { satisfiesConstraint } from "../../packages/spec/src/extension/constraint.ts";
import { readTar } from "../../packages/spec/src/tar/read.ts";
import { decodeYaml } from "../../packages/spec/src/yaml/decode.ts";
import {
  artifactsLayer,
  buildInitramfs,
  buildUki,
  dockerArchive,
  type PackedExtension,
} from "./imager-format.ts";

class ImagerExit extends Error {
  readonly kind: number;
  constructor(kind: number, message: string) {
    super(message);
    this.kind = kind;
  }
}

/** The profile's version once read: it decides which exit codes exist. */
let currentVersion = "";

const INVALID = 2;
const DEPENDENCY = 5;
const IO = 6;

interface Asset {
  imageRef?: string;
  forceInsecure?: boolean;
  tarballPath?: string;
  ociPath?: string;
}

interface Profile {
  arch?: string;
  platform?: string;
  secureboot?: boolean;
  version?: string;
  customization?: { extraKernelArgs?: string[]; metaContents?: unknown[] };
  input?: { baseInstaller?: Asset; systemExtensions?: Asset[] };
  output?: { kind?: string };
}

function minor(version: string): [number, number] {
  const m = /^v?(\d+)\.(\d+)\./.exec(version);
  if (!m) throw new ImagerExit(INVALID, `invalid version ${version}`);
  return [Number(m[1]), Number(m[2])];
}

function exitCodeFor(version: string, kind: number): number {
  const [maj, min] = minor(version);
  const alphaOld = /-alpha\.[01]$/.test(version);
  return maj > 1 || min > 14 || (min === 14 && !alphaOld) ? kind : 1;
}

// --- images: layers as tar bytes ---

interface PulledImage {
  layers: Buffer[];
  config: Record<string, unknown>;
}

async function fetchOk(url: string, accept?: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, accept ? { headers: { accept } } : {});
  } catch (e) {
    throw new ImagerExit(DEPENDENCY, `failed to pull ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) throw new ImagerExit(DEPENDENCY, `failed to pull ${url}: ${res.status}`);
  return res;
}

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
].join(", ");

async function pull(ref: string, arch: string, insecure: boolean): Promise<PulledImage> {
  const slash = ref.indexOf("/");
  const host = ref.slice(0, slash);
  let rest = ref.slice(slash + 1);
  let reference = "latest";
  const at = rest.indexOf("@");
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  if (rest.lastIndexOf(":") > rest.lastIndexOf("/")) {
    // A digest wins over the tag of `repo:tag@sha256:...`.
    if (at < 0) reference = rest.slice(rest.lastIndexOf(":") + 1);
    rest = rest.slice(0, rest.lastIndexOf(":"));
  }
  const plain = insecure || /^(127\.0\.0\.1|localhost)(:|$)/.test(host);
  const base = `${plain ? "http" : "https"}://${host}/v2/${rest}`;
  let manifest = (await (await fetchOk(`${base}/manifests/${reference}`, ACCEPT)).json()) as {
    manifests?: { digest: string; platform?: { architecture?: string } }[];
    config?: { digest: string };
    layers?: { digest: string }[];
  };
  if (manifest.manifests) {
    const pick = manifest.manifests.find((m) => m.platform?.architecture === arch);
    if (!pick) throw new ImagerExit(DEPENDENCY, `no linux/${arch} image in ${ref}`);
    manifest = (await (await fetchOk(`${base}/manifests/${pick.digest}`, ACCEPT)).json()) as typeof manifest;
  }
  const config = (await (await fetchOk(`${base}/blobs/${manifest.config?.digest}`)).json()) as Record<
    string,
    unknown
  >;
  const layers: Buffer[] = [];
  for (const l of manifest.layers ?? [])
    layers.push(Buffer.from(await (await fetchOk(`${base}/blobs/${l.digest}`)).arrayBuffer()));
  return { layers, config };
}

function fromOciLayout(dir: string, arch: string): PulledImage {
  const blob = (digest: string) => readFileSync(join(dir, "blobs", ...digest.split(":")));
  const index = JSON.parse(readFileSync(join(dir, "index.json"), "utf8")) as {
    manifests: { digest: string; platform?: { architecture?: string } }[];
  };
  let desc = index.manifests.find((m) => !m.platform || m.platform.architecture === arch);
  if (!desc) throw new ImagerExit(INVALID, `no linux/${arch} image in ${dir}`);
  let manifest = JSON.parse(blob(desc.digest).toString()) as {
    manifests?: typeof index.manifests;
    config: { digest: string };
    layers: { digest: string }[];
  };
  if (manifest.manifests) {
    desc = manifest.manifests.find((m) => m.platform?.architecture === arch);
    if (!desc) throw new ImagerExit(INVALID, `no linux/${arch} image in ${dir}`);
    manifest = JSON.parse(blob(desc.digest).toString());
  }
  return {
    config: JSON.parse(blob(manifest.config.digest).toString()),
    layers: manifest.layers.map((l) => blob(l.digest)),
  };
}

const decompressLayer = (b: Buffer) => (b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b);

/** Flattens tar layers (whiteouts honoured) into path -> content (files) / null (dirs etc.). */
async function flatten(tars: Buffer[]): Promise<Map<string, Buffer | null>> {
  const files = new Map<string, Buffer | null>();
  for (const t of tars) {
    for await (const e of readTar(t, { source: "extension" })) {
      const baseName = e.path.slice(e.path.lastIndexOf("/") + 1);
      if (baseName.startsWith(".wh.")) {
        const target = e.path.slice(0, e.path.lastIndexOf("/") + 1) + baseName.slice(4);
        for (const k of [...files.keys()]) if (k === target || k.startsWith(`${target}/`)) files.delete(k);
        continue;
      }
      files.set(e.path, e.type === "file" ? Buffer.from(await e.bytes()) : null);
    }
  }
  return files;
}

async function loadExtension(
  asset: Asset,
  i: number,
  arch: string,
  version: string,
): Promise<PackedExtension> {
  let files: Map<string, Buffer | null>;
  if (asset.tarballPath) {
    files = await flatten([readFileSync(asset.tarballPath)]);
  } else if (asset.ociPath) {
    files = await flatten(fromOciLayout(asset.ociPath, arch).layers.map(decompressLayer));
  } else if (asset.imageRef) {
    files = await flatten(
      (await pull(asset.imageRef, arch, asset.forceInsecure ?? false)).layers.map(decompressLayer),
    );
  } else {
    throw new ImagerExit(INVALID, `system extension ${i} has no source`);
  }
  for (const p of files.keys()) {
    const top = p.split("/")[0] as string;
    if (top !== "manifest.yaml" && top !== "rootfs")
      throw new ImagerExit(INVALID, `unexpected file "${top}"`);
  }
  const manifest = files.get("manifest.yaml");
  if (!manifest) throw new ImagerExit(INVALID, "extension manifest is not found");
  const doc = decodeYaml(manifest.toString("utf8"), { file: "manifest.yaml" }).value as {
    version?: string;
    metadata?: Record<string, unknown>;
  };
  if (doc?.version !== "v1alpha1")
    throw new ImagerExit(INVALID, `unsupported manifest version: "${doc?.version ?? ""}"`);
  const md = doc.metadata ?? {};
  const talos = (
    (md.compatibility as Record<string, unknown> | undefined)?.talos as Record<string, unknown> | undefined
  )?.version;
  const constraint = typeof talos === "string" ? talos : "";
  const r = satisfiesConstraint(constraint, version);
  if (!r.ok) throw new ImagerExit(INVALID, `error validating extension "${String(md.name)}": ${r.error}`);
  const out: PackedExtension = { name: String(md.name ?? ""), version: String(md.version ?? "") };
  if (typeof md.author === "string") out.author = md.author;
  if (typeof md.description === "string") out.description = md.description;
  if (constraint) out.talos = constraint;
  if (typeof md.extraInfo === "string") out.extraInfo = md.extraInfo;
  return out;
}

async function main(argv: string[]): Promise<void> {
  let output = "/out";
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--output") output = argv[++i] ?? "";
    else if (a.startsWith("--output=")) output = a.slice("--output=".length);
    else if (a.startsWith("-") && a !== "-")
      throw new ImagerExit(INVALID, `unknown flag: ${a} (the double supports only - and --output)`);
    else positional.push(a);
  }
  if (positional.length !== 1)
    throw new ImagerExit(INVALID, `accepts 1 arg(s), received ${positional.length}`);
  if (positional[0] !== "-")
    throw new ImagerExit(
      INVALID,
      `unknown base profile: ${positional[0]} (the double reads profiles from stdin only)`,
    );
  const text = readFileSync(0, "utf8");
  let profile: Profile;
  try {
    profile = JSON.parse(text) as Profile;
  } catch {
    profile = decodeYaml(text, { file: "stdin" }).value as Profile;
  }
  const version = profile.version ?? "";
  minor(version);
  currentVersion = version;
  const arch = profile.arch ?? "amd64";
  const platform = profile.platform ?? "metal";
  const sb = profile.secureboot ?? false;
  if (arch !== "amd64" && arch !== "arm64") throw new ImagerExit(INVALID, `invalid arch "${arch}"`);
  if (profile.output?.kind !== "installer")
    throw new ImagerExit(3, `the double builds installer output only, not ${profile.output?.kind}`);
  const [, min] = minor(version);
  const args = profile.customization?.extraKernelArgs ?? [];
  if (args.length > 0 && (min === 5 || (min < 10 && !sb))) {
    throw new ImagerExit(INVALID, "customization of kernel args is not supported for installer output");
  }
  if ((profile.customization?.metaContents ?? []).length > 0) {
    throw new ImagerExit(INVALID, "customization of meta partition is not supported for installer output");
  }
  const extensions: PackedExtension[] = [];
  for (const [i, ext] of (profile.input?.systemExtensions ?? []).entries())
    extensions.push(await loadExtension(ext, i, arch, version));
  const fail = process.env.IMAGER_DOUBLE_FAIL;
  if (fail) throw new ImagerExit(Number(fail), "failure injected by IMAGER_DOUBLE_FAIL");

  const baseRef =
    profile.input?.baseInstaller?.imageRef ??
    (min >= 10 ? `ghcr.io/siderolabs/installer-base:${version}` : `ghcr.io/siderolabs/installer:${version}`);
  const base = await pull(baseRef, arch, profile.input?.baseInstaller?.forceInsecure ?? false);
  // Positional rule: exactly 2 layers -> keep the first; otherwise keep all.
  const kept = base.layers.length === 2 ? base.layers.slice(0, 1) : base.layers;
  const baseTars = kept.map(decompressLayer);
  const cmdline = [`talos.platform=${platform}`, "slab_nomerge", "pti=on", ...args].join(" ");
  const compression = min >= 8 ? "zstd" : "xz";
  const initramfs = buildInitramfs({ compression, extensions });
  const dir = `usr/install/${arch}`;
  const artifacts =
    min >= 10 || sb
      ? artifactsLayer([
          { path: `${dir}/systemd-boot.efi`, data: Buffer.from("sd-boot") },
          {
            path: min >= 10 ? `${dir}/vmlinuz.efi` : `${dir}/vmlinuz.efi.signed`,
            data: buildUki({ version, cmdline, initrd: initramfs, arch }),
          },
        ])
      : artifactsLayer([
          { path: `${dir}/vmlinuz`, data: Buffer.from("kernel") },
          { path: `${dir}/initramfs.xz`, data: initramfs },
        ]);
  const env = ((base.config.config as { Env?: string[] } | undefined)?.Env ?? []).filter(
    (e) => !e.startsWith("VERSION="),
  );
  const archive = dockerArchive({
    arch,
    layers: [...baseTars, artifacts],
    repoTag: baseRef,
    env: [...env, `VERSION=${version}`],
  });
  const name =
    min < 6
      ? `${platform}-${arch}${sb ? "-secureboot" : ""}-installer.tar`
      : `installer-${arch}${sb ? "-secureboot" : ""}.tar`;
  try {
    mkdirSync(output, { recursive: true });
    if (!statSync(output).isDirectory()) throw new Error("not a directory");
    writeFileSync(join(output, name), archive);
  } catch (e) {
    throw new ImagerExit(IO, `writing ${name}: ${(e as Error).message}`);
  }
  process.stderr.write(`output asset path: ${join(output, name)}\n`);
}

const log = process.env.IMAGER_DOUBLE_LOG;
if (log) appendFileSync(log, `${JSON.stringify({ argv: process.argv.slice(2), pid: process.pid })}\n`);
main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    let code = 1;
    if (e instanceof ImagerExit && currentVersion) {
      try {
        code = exitCodeFor(currentVersion, e.kind);
      } catch {
        code = 1;
      }
    }
    process.exit(code);
  },
);
