/**
 * OCI image layouts (a directory, or a tar of one): index.json → (nested indexes) → the manifest
 * for the platform → layers applied in order with OCI whiteouts, giving the flattened filesystem
 * the Talos imager sees after `crane export`. Blobs are checked against their digests.
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { TalosExtError } from "../errors.ts";
import { readFileRange, toEntry } from "./read.ts";
import { type ByteSource, fileChunks, openDecompressed } from "./stream.ts";
import { readTar, type TarEntry } from "./tar.ts";
import type { ExtensionEntry, ExtensionTree } from "./tree.ts";

const MT = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

const LAYER_TYPES = new Set([
  "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.diff.tar",
  "application/vnd.docker.image.rootfs.diff.tar.gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
]);

const MAX_JSON = 4 * 1024 * 1024;
const MAX_INDEX_DEPTH = 8;
const KEEP_MAX_FILE = 64 * 1024;

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Where blobs come from: a layout directory or a tar holding one. */
interface BlobStore {
  source: string;
  /** A top-level file of the layout (`oci-layout`, `index.json`), or undefined when absent. */
  file(name: string): Promise<Uint8Array | undefined>;
  size(digest: ParsedDigest): Promise<number | undefined>;
  open(digest: ParsedDigest): ByteSource;
  /** Random access into an (uncompressed) blob, when the store can do it cheaply. */
  direct?(digest: ParsedDigest): (offset: number, length: number) => Promise<Uint8Array>;
}

interface ParsedDigest {
  text: string;
  algorithm: "sha256" | "sha512";
  hex: string;
}

function ociError(
  code: string,
  source: string,
  message: string,
  hint: string,
  cause?: unknown,
): TalosExtError {
  return new TalosExtError({ code, message, hint, location: { file: source }, cause });
}

function parseDigest(value: unknown, source: string): ParsedDigest {
  const text = typeof value === "string" ? value : "";
  const m = /^(sha256|sha512):([0-9a-f]+)$/.exec(text);
  const want = m?.[1] === "sha256" ? 64 : 128;
  if (!m || m[2]!.length !== want) {
    throw ociError(
      "OCI_LAYOUT_INVALID",
      source,
      `unsupported or malformed digest ${JSON.stringify(value)}`,
      "digests must be sha256:<64 hex> or sha512:<128 hex>",
    );
  }
  return { text, algorithm: m[1] as "sha256" | "sha512", hex: m[2]! };
}

function parseDescriptor(value: unknown, source: string, what: string): Descriptor {
  const v = value as Record<string, unknown> | null;
  if (!v || typeof v !== "object" || typeof v.mediaType !== "string" || typeof v.size !== "number") {
    throw ociError(
      "OCI_LAYOUT_INVALID",
      source,
      `${what} is not a valid descriptor`,
      "descriptors need mediaType, digest and size",
    );
  }
  parseDigest(v.digest, source);
  return v as unknown as Descriptor;
}

function parseJson(bytes: Uint8Array, source: string, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (v && typeof v === "object" && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw ociError(
    "OCI_LAYOUT_INVALID",
    source,
    `${what} is not a JSON object`,
    "the image layout is corrupt; re-export it",
  );
}

async function collect(
  source: ByteSource,
  limit: number,
  onTooLarge: () => TalosExtError,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
    source instanceof Uint8Array ? [source] : source;
  for await (const c of iterable) {
    total += c.length;
    if (total > limit) throw onTooLarge();
    parts.push(c);
  }
  return Buffer.concat(parts);
}

async function hashBlob(store: BlobStore, d: Descriptor): Promise<{ digest: string; size: number }> {
  const parsed = parseDigest(d.digest, store.source);
  const hash = createHash(parsed.algorithm);
  let size = 0;
  const src = store.open(parsed);
  const iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = src instanceof Uint8Array ? [src] : src;
  try {
    for await (const c of iterable) {
      hash.update(c);
      size += c.length;
    }
  } catch (e) {
    if (e instanceof TalosExtError) throw e;
    throw ociError(
      "OCI_BLOB_MISSING",
      store.source,
      `cannot read blob ${d.digest}: ${(e as Error).message}`,
      "the image layout is incomplete; re-export it",
      e,
    );
  }
  return { digest: `${parsed.algorithm}:${hash.digest("hex")}`, size };
}

async function verifyBlob(store: BlobStore, d: Descriptor): Promise<void> {
  const parsed = parseDigest(d.digest, store.source);
  if ((await store.size(parsed)) === undefined) {
    throw ociError(
      "OCI_BLOB_MISSING",
      store.source,
      `blob ${d.digest} is missing`,
      "the image layout is incomplete; re-export it",
    );
  }
  const actual = await hashBlob(store, d);
  if (actual.digest !== d.digest) {
    throw ociError(
      "OCI_DIGEST_MISMATCH",
      store.source,
      `blob ${d.digest} has digest ${actual.digest}`,
      "the blob was modified or corrupted; re-export the image",
    );
  }
  if (actual.size !== d.size) {
    throw ociError(
      "OCI_DIGEST_MISMATCH",
      store.source,
      `blob ${d.digest} has ${actual.size} bytes, its descriptor says ${d.size}`,
      "the descriptor does not match the blob; re-export the image",
    );
  }
}

async function readJsonBlob(store: BlobStore, d: Descriptor, what: string): Promise<Record<string, unknown>> {
  if (d.size > MAX_JSON)
    throw ociError(
      "OCI_LAYOUT_INVALID",
      store.source,
      `${what} ${d.digest} is too large`,
      "re-export the image",
    );
  await verifyBlob(store, d);
  const bytes = await collect(store.open(parseDigest(d.digest, store.source)), MAX_JSON, () =>
    ociError("OCI_LAYOUT_INVALID", store.source, `${what} ${d.digest} is too large`, "re-export the image"),
  );
  return parseJson(bytes, store.source, `${what} ${d.digest}`);
}

export function parsePlatform(text: string): Platform {
  const [os, architecture, variant, ...rest] = text.split("/");
  if (!os || !architecture || rest.length > 0) {
    throw new TalosExtError({
      code: "OCI_PLATFORM_INVALID",
      message: `invalid platform "${text}"`,
      hint: 'use os/arch[/variant], e.g. "linux/amd64" or "linux/arm64"',
    });
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

const formatPlatform = (p: Platform) => [p.os, p.architecture, p.variant].filter(Boolean).join("/");

function platformMatches(want: Platform, have: Platform): boolean {
  if (want.os !== have.os || want.architecture !== have.architecture) return false;
  if (!want.variant) return true;
  const norm = (p: Platform) => p.variant ?? (p.architecture === "arm64" ? "v8" : "");
  return norm(want) === norm(have);
}

interface Candidate {
  descriptor: Descriptor;
  platform?: Platform;
}

async function collectManifests(
  store: BlobStore,
  index: Record<string, unknown>,
  depth: number,
  out: Candidate[],
) {
  if (depth > MAX_INDEX_DEPTH) {
    throw ociError(
      "OCI_LAYOUT_INVALID",
      store.source,
      "image indexes are nested too deeply",
      "re-export the image",
    );
  }
  const manifests = index.manifests;
  if (!Array.isArray(manifests)) {
    throw ociError(
      "OCI_LAYOUT_INVALID",
      store.source,
      "image index has no manifests list",
      "re-export the image",
    );
  }
  for (const [i, raw] of manifests.entries()) {
    const d = parseDescriptor(raw, store.source, `manifests[${i}]`);
    if (d.mediaType === MT.ociIndex || d.mediaType === MT.dockerList) {
      await collectManifests(store, await readJsonBlob(store, d, "image index"), depth + 1, out);
    } else if (d.mediaType === MT.ociManifest || d.mediaType === MT.dockerManifest) {
      // Build attestations ride along in indexes as "unknown/unknown" manifests.
      if (d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest") continue;
      if (d.platform?.os === "unknown") continue;
      const c: Candidate = { descriptor: d };
      if (d.platform?.os && d.platform.architecture) {
        c.platform = { os: d.platform.os, architecture: d.platform.architecture };
        if (d.platform.variant) c.platform.variant = d.platform.variant;
      }
      out.push(c);
    }
  }
}

async function platformFromConfig(
  store: BlobStore,
  manifest: Record<string, unknown>,
): Promise<Platform | undefined> {
  const d = parseDescriptor(manifest.config, store.source, "config");
  const config = await readJsonBlob(store, d, "image config");
  if (typeof config.os !== "string" || typeof config.architecture !== "string") return undefined;
  const p: Platform = { os: config.os, architecture: config.architecture };
  if (typeof config.variant === "string" && config.variant) p.variant = config.variant;
  return p;
}

async function selectManifest(
  store: BlobStore,
  platformText: string | undefined,
): Promise<Record<string, unknown>> {
  const layoutBytes = await store.file("oci-layout");
  if (!layoutBytes) {
    throw ociError(
      "OCI_LAYOUT_INVALID",
      store.source,
      "oci-layout file is missing",
      "this is not an OCI image layout",
    );
  }
  const layout = parseJson(layoutBytes, store.source, "oci-layout");
  if (typeof layout.imageLayoutVersion !== "string") {
    throw ociError(
      "OCI_LAYOUT_INVALID",
      store.source,
      "oci-layout has no imageLayoutVersion",
      "this is not an OCI image layout",
    );
  }
  const indexBytes = await store.file("index.json");
  if (!indexBytes)
    throw ociError(
      "OCI_LAYOUT_INVALID",
      store.source,
      "index.json is missing",
      "this is not an OCI image layout",
    );
  const candidates: Candidate[] = [];
  await collectManifests(store, parseJson(indexBytes, store.source, "index.json"), 0, candidates);
  if (candidates.length === 0) {
    throw ociError(
      "OCI_PLATFORM_NOT_FOUND",
      store.source,
      "the image layout holds no image manifest",
      "export an image, not an empty layout",
    );
  }

  const manifests = new Map<Candidate, Record<string, unknown>>();
  const load = async (c: Candidate) => {
    let m = manifests.get(c);
    if (!m) manifests.set(c, (m = await readJsonBlob(store, c.descriptor, "image manifest")));
    return m;
  };
  if (platformText === undefined && candidates.length === 1) return load(candidates[0]!);
  // Talos builds pull linux/<arch>; with no platform given, amd64 is the usual target.
  const want = parsePlatform(platformText ?? "linux/amd64");
  const seen: string[] = [];
  for (const c of candidates) {
    const manifest = await load(c);
    const have = c.platform ?? (await platformFromConfig(store, manifest));
    if (have) seen.push(formatPlatform(have));
    if (have && platformMatches(want, have)) return manifest;
  }
  throw ociError(
    "OCI_PLATFORM_NOT_FOUND",
    store.source,
    `no image for platform ${formatPlatform(want)} (found: ${seen.join(", ") || "none with a platform"})`,
    "pass --platform with one of the platforms the image was built for",
  );
}

const basename = (p: string) => p.slice(p.lastIndexOf("/") + 1);
const dirname = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");

function removeTree(map: Map<string, ExtensionEntry>, path: string, includeSelf: boolean) {
  const prefix = path === "" ? "" : `${path}/`;
  for (const key of [...map.keys()]) {
    if ((includeSelf && key === path) || key.startsWith(prefix)) map.delete(key);
  }
}

/** Applies layers bottom-up: whiteouts hide what lower layers put there, then the layer's own entries land. */
async function flatten(store: BlobStore, manifest: Record<string, unknown>): Promise<ExtensionEntry[]> {
  const layers = manifest.layers;
  if (!Array.isArray(layers)) {
    throw ociError(
      "OCI_LAYOUT_INVALID",
      store.source,
      "image manifest has no layers list",
      "re-export the image",
    );
  }
  const fs = new Map<string, ExtensionEntry>();
  for (const [i, raw] of layers.entries()) {
    const d = parseDescriptor(raw, store.source, `layers[${i}]`);
    if (!LAYER_TYPES.has(d.mediaType)) {
      throw ociError(
        "OCI_MEDIA_TYPE_UNSUPPORTED",
        store.source,
        `layer ${d.digest} has media type ${d.mediaType}`,
        "extension images carry tar layers (plain, gzip or zstd)",
      );
    }
    await verifyBlob(store, d);
    const digest = parseDigest(d.digest, store.source);
    const layerSource = `${store.source}@${d.digest}`;
    const opaque: string[] = [];
    const whiteouts: string[] = [];
    const members: TarEntry[] = [];
    let plain = false;
    for await (const m of readTar(store.open(digest), {
      source: layerSource,
      keep: (e) => e.size <= KEEP_MAX_FILE,
      onCompression: (c) => {
        plain = c === "none";
      },
    })) {
      const base = basename(m.path);
      if (base === ".wh..wh..opq") opaque.push(dirname(m.path));
      else if (base.startsWith(".wh..wh."))
        continue; // AUFS bookkeeping, not content
      else if (base.startsWith(".wh."))
        whiteouts.push(`${dirname(m.path) ? `${dirname(m.path)}/` : ""}${base.slice(4)}`);
      else members.push(m);
    }
    for (const dir of opaque) removeTree(fs, dir, false);
    for (const path of whiteouts) removeTree(fs, path, true);
    const direct = plain ? store.direct?.(digest) : undefined;
    for (const m of members) {
      const existing = fs.get(m.path);
      if (existing?.type === "dir" && m.type !== "dir") removeTree(fs, m.path, false);
      // A directory entry over an existing directory only updates its metadata.
      fs.set(
        m.path,
        toEntry(m, layerSource, () => store.open(digest), fs, direct),
      );
    }
  }
  return [...fs.values()];
}

function dirStore(dir: string): BlobStore {
  const blobPath = (d: ParsedDigest) => join(dir, "blobs", d.algorithm, d.hex);
  return {
    source: dir,
    async file(name) {
      try {
        return new Uint8Array(await readFile(join(dir, name)));
      } catch {
        return undefined;
      }
    },
    async size(d) {
      try {
        const st = await stat(blobPath(d));
        return st.isFile() ? st.size : undefined;
      } catch {
        return undefined;
      }
    },
    open: (d) => fileChunks(blobPath(d)),
    direct: (d) => (offset, length) => readFileRange(blobPath(d), offset, length),
  };
}

/** Reads the image in an OCI layout directory for `platform` and flattens its layers. */
export async function readOciLayout(dir: string, platform?: string): Promise<ExtensionTree> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error("not a directory");
  } catch (e) {
    throw ociError(
      "EXT_INPUT_NOT_FOUND",
      dir,
      `cannot read OCI layout ${dir}: ${(e as Error).message}`,
      "check the path",
    );
  }
  const store = dirStore(dir);
  const manifest = await selectManifest(store, platform);
  return { source: dir, entries: await flatten(store, manifest), kind: "archive" };
}

/** True when the top-level names of a tree look like an OCI layout (`oci-layout` + `index.json`). */
export function looksLikeOciLayout(names: Iterable<string>): boolean {
  const set = new Set(names);
  return set.has("oci-layout") && set.has("index.json");
}

/** Reads the image in a tar of an OCI layout (e.g. `skopeo copy … oci-archive:x.tar`). */
export async function readOciArchive(file: string, platform?: string): Promise<ExtensionTree> {
  const byPath = new Map<string, TarEntry>();
  let plain = false;
  for await (const m of readTar(fileChunks(file), {
    source: file,
    keep: (e) => e.size <= KEEP_MAX_FILE,
    onCompression: (c) => {
      plain = c === "none";
    },
  })) {
    byPath.set(m.path, m);
  }
  const member = (name: string): TarEntry | undefined => {
    let m = byPath.get(name);
    if (m?.type === "hardlink") m = byPath.get(m.linkTarget ?? "");
    return m?.type === "file" ? m : undefined;
  };
  const rangeOf = (m: TarEntry): ByteSource => {
    if (m.data) return m.data;
    if (plain) return fileChunks(file, { start: m.dataOffset, length: m.storedSize });
    return rangeChunks(() => fileChunks(file), m.dataOffset, m.storedSize, file);
  };
  const blob = (d: ParsedDigest) => member(`blobs/${d.algorithm}/${d.hex}`);
  const store: BlobStore = {
    source: file,
    async file(name) {
      const m = member(name);
      if (!m) return undefined;
      return collect(rangeOf(m), MAX_JSON, () =>
        ociError("OCI_LAYOUT_INVALID", file, `${name} is too large`, "re-export the image"),
      );
    },
    async size(d) {
      return blob(d)?.storedSize;
    },
    open(d) {
      const m = blob(d);
      if (!m)
        throw ociError(
          "OCI_BLOB_MISSING",
          file,
          `blob ${d.text} is missing`,
          "the image archive is incomplete",
        );
      return rangeOf(m);
    },
  };
  if (plain) {
    store.direct = (d) => {
      const m = blob(d)!;
      return (offset, length) => readFileRange(file, m.dataOffset + offset, length);
    };
  }
  const manifest = await selectManifest(store, platform);
  return { source: file, entries: await flatten(store, manifest), kind: "archive" };
}

async function* rangeChunks(
  open: () => ByteSource,
  offset: number,
  length: number,
  source: string,
): AsyncGenerator<Uint8Array> {
  const mapError = (cause: unknown) =>
    ociError(
      "OCI_LAYOUT_INVALID",
      source,
      `cannot read ${source}: ${(cause as Error)?.message ?? cause}`,
      "the archive is corrupt",
    );
  const { reader } = await openDecompressed(open(), mapError, (kind) =>
    ociError(
      "EXT_TAR_UNSUPPORTED",
      source,
      `${kind}-compressed archives are not supported`,
      "use a plain, gzip or zstd tar",
    ),
  );
  try {
    if ((await reader.skip(offset)) < offset) throw mapError(new Error("unexpected end of archive"));
    let left = length;
    while (left > 0) {
      const chunk = await reader.read(Math.min(left, 1 << 20));
      if (chunk.length === 0) throw mapError(new Error("unexpected end of archive"));
      left -= chunk.length;
      yield chunk;
    }
  } finally {
    await reader.close();
  }
}
