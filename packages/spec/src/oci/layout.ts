/**
 * The project's one OCI image layout reader, for a layout directory or a tar of one. Every
 * digest is checked (`sha256:` + 64 hex) before it becomes a path; every blob read is verified
 * against its descriptor (manifests, indexes and configs included); only regular files are read
 * (a FIFO or /dev/zero `index.json` fails at once); JSON documents are capped in size.
 */
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { TalosExtError } from "../errors.ts";
import { openRegularFile, RegularFileError, readRegularFile, regularFileChunks } from "../fs/regular-file.ts";
import { readTar, type TarEntry } from "../tar/read.ts";
import { type ByteSource, openDecompressed } from "../tar/stream.ts";

/** OCI and Docker media types the reader tells apart. */
export const OCI_MEDIA_TYPES = {
  /** An OCI image index. */
  index: "application/vnd.oci.image.index.v1+json",
  /** An OCI image manifest. */
  manifest: "application/vnd.oci.image.manifest.v1+json",
  /** An OCI image config. */
  config: "application/vnd.oci.image.config.v1+json",
  /** A Docker manifest list (read like an index). */
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  /** A Docker schema-2 manifest (read like an image manifest). */
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
} as const;

/** An OCI platform (`os`/`architecture`[/`variant`]) as descriptors and configs carry it. */
export interface OciPlatform {
  /** e.g. `linux`. */
  os: string;
  /** e.g. `amd64`, `arm64`. */
  architecture: string;
  /** e.g. `v8` for arm64. */
  variant?: string;
}

/** An OCI content descriptor: what a blob is, its digest and size. */
export interface Descriptor {
  /** The blob's media type. */
  mediaType: string;
  /** `sha256:<64 hex>` (the only algorithm the layout reader accepts). */
  digest: string;
  /** The blob's size in bytes. */
  size: number;
  /** Where a non-distributable blob can be fetched instead. */
  urls?: string[];
  /** Annotations (e.g. `org.opencontainers.image.ref.name`). */
  annotations?: Record<string, string>;
  /** The platform of an image manifest listed in an index. */
  platform?: OciPlatform;
  /** The artifact type of an artifact manifest. */
  artifactType?: string;
}

/** Error codes of the layout reader's three faults; callers keep their own through this. */
export interface OciLayoutCodes {
  /** Not a layout, bad JSON or descriptor, a bad digest, a non-regular or oversized file. */
  invalid: string;
  /** A blob the layout refers to is not there. */
  missing: string;
  /** A blob's bytes or size do not match its descriptor. */
  mismatch: string;
}

/** The codes `validate` and `inspect` use. */
export const OCI_LAYOUT_CODES: OciLayoutCodes = {
  invalid: "OCI_LAYOUT_INVALID",
  missing: "OCI_BLOB_MISSING",
  mismatch: "OCI_DIGEST_MISMATCH",
};

/** A verified, parsed manifest or index. */
export type OciManifest =
  | {
      /** An image index (OCI index or Docker manifest list). */
      kind: "index";
      /** The descriptor it was read through. */
      descriptor: Descriptor;
      /** The descriptors it lists. */
      manifests: Descriptor[];
      /** The whole document. */
      json: Record<string, unknown>;
      /** Its bytes, exactly as stored (digest verified). */
      bytes: Uint8Array;
    }
  | {
      /** An image manifest (OCI or Docker schema 2). */
      kind: "image";
      /** The descriptor it was read through. */
      descriptor: Descriptor;
      /** The config descriptor. */
      config: Descriptor;
      /** The layer descriptors, bottom first. */
      layers: Descriptor[];
      /** The whole document. */
      json: Record<string, unknown>;
      /** Its bytes, exactly as stored (digest verified). */
      bytes: Uint8Array;
    };

/** An image manifest found by walking the index, with the platform its index gives it. */
export interface OciImageEntry {
  /** The image manifest's descriptor. */
  descriptor: Descriptor;
  /** The platform from the listing index, when it has one. */
  platform?: OciPlatform;
}

/** The fields of an image config the project uses. */
export interface OciImageConfig {
  /** The config's platform, when it states one. */
  platform?: OciPlatform;
  /** `config.Labels`. */
  labels: Record<string, string>;
  /** The whole document. */
  json: Record<string, unknown>;
}

/** Options of `openOciLayout` / `openOciArchive`. */
export interface OciLayoutOptions {
  /** Error codes; default `OCI_LAYOUT_CODES`. */
  codes?: OciLayoutCodes;
}

/** An opened layout: `index.json` read and checked; blobs read on demand, each one verified. */
export interface OciLayoutReader {
  /** The directory or archive, for messages. */
  readonly source: string;
  /** The descriptors `index.json` lists. */
  readonly manifests: readonly Descriptor[];
  /** Where a blob lives, for error locations (a file path, or `archive:blobs/sha256/<hex>`). */
  blobLocation(desc: Descriptor): string;
  /** Reads and verifies a manifest or index (size-capped). */
  readManifest(desc: Descriptor): Promise<OciManifest>;
  /** Reads and verifies an image config (size-capped). */
  readConfig(desc: Descriptor): Promise<OciImageConfig>;
  /** Hashes a blob and checks digest and size against `desc`. */
  verifyBlob(desc: Descriptor): Promise<void>;
  /** The bytes of a blob (call `verifyBlob` first, or verify while reading). */
  openBlob(desc: Descriptor): ByteSource;
  /**
   * Random access into a blob, when the store can do it without decompressing (a directory, or a
   * plain tar of a layout).
   */
  blobRange?(desc: Descriptor): (offset: number, length: number) => Promise<Uint8Array>;
  /**
   * Directory layouts: the path of the blob, checked to be a regular file (not a symlink) of
   * `desc.size` bytes; undefined when it is absent. Its content is not hashed here.
   */
  blobFile?(desc: Descriptor): Promise<string | undefined>;
  /** Every image manifest, walking nested indexes (attestations and `unknown/unknown` skipped). */
  images(): Promise<OciImageEntry[]>;
  /**
   * The image for `platform` (`os/arch[/variant]`; default: the only image, else `linux/amd64`).
   * Throws `OCI_PLATFORM_NOT_FOUND` listing the platforms found.
   */
  selectImage(platform?: string): Promise<Extract<OciManifest, { kind: "image" }>>;
}

/** Largest index, manifest or config accepted: real ones are a few KiB. */
export const MAX_OCI_JSON = 4 * 1024 * 1024;
const MAX_INDEX_DEPTH = 8;
const MAX_INDEX_ENTRIES = 4096;
/** Archive members up to this size are kept in memory while the archive is scanned. */
const KEEP_MAX_FILE = 64 * 1024;
const KEEP_MAX_TOTAL = 32 * 1024 * 1024;

/** Where blobs come from: a layout directory or a tar holding one. */
interface BlobStore {
  source: string;
  /** A top-level file of the layout (`oci-layout`, `index.json`), or undefined when absent. */
  file(name: string, max: number): Promise<Uint8Array | undefined>;
  location(path: string): string;
  /** The stored size, or undefined when the blob is absent. */
  size(hex: string): Promise<number | undefined>;
  open(hex: string): ByteSource;
  range?(hex: string): (offset: number, length: number) => Promise<Uint8Array>;
  path?(hex: string): string;
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

class Faults {
  readonly source: string;
  readonly codes: OciLayoutCodes;
  constructor(source: string, codes: OciLayoutCodes) {
    this.source = source;
    this.codes = codes;
  }

  invalid(
    message: string,
    hint = "the image layout is corrupt; re-export it",
    file = this.source,
    cause?: unknown,
  ) {
    return new TalosExtError({ code: this.codes.invalid, message, hint, location: { file }, cause });
  }

  missing(message: string, file = this.source) {
    return new TalosExtError({
      code: this.codes.missing,
      message,
      hint: "the image layout is incomplete; re-export it (or pull it again)",
      location: { file },
    });
  }

  mismatch(message: string, file = this.source) {
    return new TalosExtError({
      code: this.codes.mismatch,
      message,
      hint: "the blob was modified or corrupted; re-export the image",
      location: { file },
    });
  }
}

function hexOf(f: Faults, digest: unknown, where: string): string {
  const m = typeof digest === "string" ? DIGEST.exec(digest) : null;
  if (!m) {
    const shown = typeof digest === "string" ? JSON.stringify(digest.slice(0, 140)) : String(digest);
    throw f.invalid(
      `${where} has an unsupported or malformed digest ${shown}`,
      "digests must be sha256:<64 lowercase hex>",
    );
  }
  return m[1]!;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function parseDescriptor(f: Faults, value: unknown, where: string): Descriptor {
  if (
    !isRecord(value) ||
    typeof value.mediaType !== "string" ||
    !Number.isSafeInteger(value.size) ||
    (value.size as number) < 0
  ) {
    throw f.invalid(`${where} is not a valid descriptor`, "descriptors need mediaType, digest and size");
  }
  hexOf(f, value.digest, where);
  const d: Descriptor = {
    mediaType: value.mediaType,
    digest: value.digest as string,
    size: value.size as number,
  };
  if (Array.isArray(value.urls) && value.urls.every((u) => typeof u === "string"))
    d.urls = value.urls as string[];
  if (isRecord(value.annotations)) {
    const a: Record<string, string> = {};
    for (const [k, v] of Object.entries(value.annotations)) if (typeof v === "string") a[k] = v;
    d.annotations = a;
  }
  if (
    isRecord(value.platform) &&
    typeof value.platform.os === "string" &&
    typeof value.platform.architecture === "string"
  ) {
    const p: OciPlatform = { os: value.platform.os, architecture: value.platform.architecture };
    if (typeof value.platform.variant === "string" && value.platform.variant)
      p.variant = value.platform.variant;
    d.platform = p;
  }
  if (typeof value.artifactType === "string") d.artifactType = value.artifactType;
  return d;
}

function parseJson(f: Faults, bytes: Uint8Array, what: string, file?: string): Record<string, unknown> {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (isRecord(v)) return v;
  } catch {
    // reported below
  }
  throw f.invalid(`${what} is not a JSON object`, "the image layout is corrupt; re-export it", file);
}

/** Parses `os/arch[/variant]`; throws `OCI_PLATFORM_INVALID`. */
export function parsePlatform(text: string): OciPlatform {
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

/** `os/arch[/variant]`. */
export function formatPlatform(p: OciPlatform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/** Whether `have` satisfies `want` (no variant wanted: any; arm64 without variant is v8). */
export function platformMatches(want: OciPlatform, have: OciPlatform): boolean {
  if (want.os !== have.os || want.architecture !== have.architecture) return false;
  if (!want.variant) return true;
  const norm = (p: OciPlatform) => p.variant ?? (p.architecture === "arm64" ? "v8" : "");
  return norm(want) === norm(have);
}

/** Maps a refusal of the regular-file reader to the layout's codes. */
function fileFault(f: Faults, e: unknown, what: string, file: string): TalosExtError {
  if (e instanceof TalosExtError) return e;
  if (e instanceof RegularFileError) {
    if (e.problem === "too-large")
      return f.invalid(`${what} is too large (${e.message})`, "re-export the image", file);
    return f.invalid(
      `${what} cannot be read: ${e.message}`,
      "layouts hold regular files only; re-export the image",
      file,
      e,
    );
  }
  throw e;
}

function dirStore(dir: string, f: Faults): BlobStore {
  const blobPath = (hex: string) => join(dir, "blobs", "sha256", hex);
  return {
    source: dir,
    location: (path) => join(dir, path),
    async file(name, max) {
      const file = join(dir, name);
      try {
        return await readRegularFile(file, max);
      } catch (e) {
        if (e instanceof RegularFileError && e.problem === "missing") return undefined;
        throw fileFault(f, e, name, file);
      }
    },
    async size(hex) {
      const file = blobPath(hex);
      try {
        const { handle, size } = await openRegularFile(file);
        await handle.close();
        return size;
      } catch (e) {
        if (e instanceof RegularFileError && e.problem === "missing") return undefined;
        throw fileFault(f, e, `blob sha256:${hex}`, file);
      }
    },
    open: (hex) => regularFileChunks(blobPath(hex)),
    range: (hex) => async (offset, length) => {
      const parts: Uint8Array[] = [];
      let got = 0;
      for await (const c of regularFileChunks(blobPath(hex), { start: offset, length })) {
        parts.push(c);
        got += c.length;
      }
      if (got !== length)
        throw f.invalid(
          `blob sha256:${hex} is shorter than its index says`,
          "the file changed while it was read",
          blobPath(hex),
        );
      return Buffer.concat(parts);
    },
    path: blobPath,
  };
}

async function archiveStore(file: string, f: Faults): Promise<BlobStore> {
  const byPath = new Map<string, { entry: TarEntry; data?: Uint8Array }>();
  let plain = false;
  let kept = 0;
  try {
    const { handle } = await openRegularFile(file);
    await handle.close();
  } catch (e) {
    throw fileFault(f, e, file, file);
  }
  for await (const m of readTar(regularFileChunks(file), {
    source: file,
    onCompression: (c) => {
      plain = c === "none";
    },
  })) {
    const record: { entry: TarEntry; data?: Uint8Array } = { entry: m };
    if (m.type === "file" && !m.sparse && m.size <= KEEP_MAX_FILE && kept + m.size <= KEEP_MAX_TOTAL) {
      record.data = await m.bytes();
      kept += m.size;
    }
    byPath.set(m.path, record);
  }
  const member = (name: string) => {
    let m = byPath.get(name);
    if (m?.entry.type === "hardlink") m = byPath.get(m.entry.linkTarget ?? "");
    if (m && (m.entry.type !== "file" || m.entry.sparse)) {
      throw f.invalid(
        `${file}:${name} is not a regular file`,
        "layouts hold regular files only; re-export the image",
      );
    }
    return m;
  };
  const rangeOf = (m: { entry: TarEntry; data?: Uint8Array }): ByteSource => {
    if (m.data) return m.data;
    if (plain) return regularFileChunks(file, { start: m.entry.dataOffset, length: m.entry.storedSize });
    return rangeChunks(() => regularFileChunks(file), m.entry.dataOffset, m.entry.storedSize, f);
  };
  const blob = (hex: string) => member(`blobs/sha256/${hex}`);
  const store: BlobStore = {
    source: file,
    location: (path) => `${file}:${path}`,
    async file(name, max) {
      const m = member(name);
      if (!m) return undefined;
      if (m.entry.size > max)
        throw f.invalid(`${name} is too large (${m.entry.size} bytes)`, "re-export the image");
      return collect(rangeOf(m));
    },
    async size(hex) {
      return blob(hex)?.entry.storedSize;
    },
    open(hex) {
      const m = blob(hex);
      if (!m) throw f.missing(`blob sha256:${hex} is missing`, `${file}:blobs/sha256/${hex}`);
      return rangeOf(m);
    },
  };
  if (plain) {
    store.range = (hex) => {
      const m = blob(hex);
      return async (offset, length) => {
        if (!m) throw f.missing(`blob sha256:${hex} is missing`);
        return collect(regularFileChunks(file, { start: m.entry.dataOffset + offset, length }));
      };
    };
  }
  return store;
}

async function collect(source: ByteSource): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  const parts: Uint8Array[] = [];
  for await (const c of source) parts.push(c);
  return Buffer.concat(parts);
}

async function* rangeChunks(
  open: () => ByteSource,
  offset: number,
  length: number,
  f: Faults,
): AsyncGenerator<Uint8Array> {
  const mapError = (cause: unknown) =>
    f.invalid(`cannot read ${f.source}: ${(cause as Error)?.message ?? cause}`, "the archive is corrupt");
  const { reader } = await openDecompressed(open(), mapError, (kind) =>
    f.invalid(`${kind}-compressed archives are not supported`, "use a plain, gzip or zstd tar"),
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

class LayoutReader implements OciLayoutReader {
  readonly source: string;
  readonly manifests: readonly Descriptor[];
  readonly #store: BlobStore;
  readonly #f: Faults;
  blobRange?: OciLayoutReader["blobRange"];
  blobFile?: OciLayoutReader["blobFile"];

  constructor(store: BlobStore, f: Faults, manifests: Descriptor[]) {
    this.source = store.source;
    this.#store = store;
    this.#f = f;
    this.manifests = manifests;
    if (store.range) {
      const range = store.range;
      this.blobRange = (desc) => range(hexOf(f, desc.digest, "descriptor"));
    }
    if (store.path) {
      const path = store.path;
      this.blobFile = async (desc) => {
        const hex = hexOf(f, desc.digest, "descriptor");
        const size = await store.size(hex);
        if (size === undefined) return undefined;
        if (size !== desc.size) {
          throw f.mismatch(
            `blob ${desc.digest} has ${size} bytes, its descriptor says ${desc.size}`,
            path(hex),
          );
        }
        return path(hex);
      };
    }
  }

  blobLocation(desc: Descriptor): string {
    return this.#store.location(`blobs/sha256/${hexOf(this.#f, desc.digest, "descriptor")}`);
  }

  async #hash(desc: Descriptor, hex: string): Promise<{ digest: string; size: number }> {
    const hash = createHash("sha256");
    let size = 0;
    const src = this.#store.open(hex);
    const iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
      src instanceof Uint8Array ? [src] : src;
    try {
      for await (const c of iterable) {
        hash.update(c);
        size += c.length;
        // Never hash (or hold) more than the descriptor promises.
        if (size > desc.size) break;
      }
    } catch (e) {
      throw fileFault(this.#f, e, `blob ${desc.digest}`, this.blobLocation(desc));
    }
    return { digest: `sha256:${hash.digest("hex")}`, size };
  }

  async verifyBlob(desc: Descriptor): Promise<void> {
    const hex = hexOf(this.#f, desc.digest, "descriptor");
    const location = this.blobLocation(desc);
    const stored = await this.#store.size(hex);
    if (stored === undefined) throw this.#f.missing(`blob ${desc.digest} is missing`, location);
    if (stored !== desc.size) {
      throw this.#f.mismatch(
        `blob ${desc.digest} has ${stored} bytes, its descriptor says ${desc.size}`,
        location,
      );
    }
    const actual = await this.#hash(desc, hex);
    if (actual.size !== desc.size) {
      throw this.#f.mismatch(
        `blob ${desc.digest} has ${actual.size} bytes, its descriptor says ${desc.size}`,
        location,
      );
    }
    if (actual.digest !== desc.digest) {
      throw this.#f.mismatch(`blob ${desc.digest} has digest ${actual.digest}`, location);
    }
  }

  openBlob(desc: Descriptor): ByteSource {
    return this.#store.open(hexOf(this.#f, desc.digest, "descriptor"));
  }

  /** A JSON blob: size-capped before anything is read, then digest-verified, then parsed. */
  async #json(desc: Descriptor, what: string): Promise<{ json: Record<string, unknown>; bytes: Uint8Array }> {
    const hex = hexOf(this.#f, desc.digest, what);
    const location = this.blobLocation(desc);
    if (desc.size > MAX_OCI_JSON) {
      throw this.#f.invalid(
        `${what} ${desc.digest} is too large (${desc.size} bytes)`,
        "re-export the image",
        location,
      );
    }
    const stored = await this.#store.size(hex);
    if (stored === undefined) throw this.#f.missing(`${what} ${desc.digest} is missing`, location);
    if (stored !== desc.size) {
      throw this.#f.mismatch(
        `${what} ${desc.digest} has ${stored} bytes, its descriptor says ${desc.size}`,
        location,
      );
    }
    const parts: Uint8Array[] = [];
    let size = 0;
    const src = this.#store.open(hex);
    try {
      for await (const c of src instanceof Uint8Array ? [src] : src) {
        size += c.length;
        if (size > desc.size) break;
        parts.push(c);
      }
    } catch (e) {
      throw fileFault(this.#f, e, `${what} ${desc.digest}`, location);
    }
    const bytes = Buffer.concat(parts);
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    if (size !== desc.size) {
      throw this.#f.mismatch(
        `${what} ${desc.digest} has ${size} bytes, its descriptor says ${desc.size}`,
        location,
      );
    }
    if (digest !== desc.digest)
      throw this.#f.mismatch(`${what} ${desc.digest} has digest ${digest}`, location);
    return { json: parseJson(this.#f, bytes, `${what} ${desc.digest}`, location), bytes };
  }

  async readManifest(desc: Descriptor): Promise<OciManifest> {
    const { json, bytes } = await this.#json(desc, "manifest");
    const location = this.blobLocation(desc);
    const mediaType = typeof json.mediaType === "string" ? json.mediaType : desc.mediaType;
    const isIndex =
      mediaType === OCI_MEDIA_TYPES.index ||
      mediaType === OCI_MEDIA_TYPES.dockerList ||
      (json.layers === undefined && Array.isArray(json.manifests));
    if (isIndex) {
      if (!Array.isArray(json.manifests))
        throw this.#f.invalid(`image index ${desc.digest} has no manifests list`, undefined, location);
      if (json.manifests.length > MAX_INDEX_ENTRIES)
        throw this.#f.invalid(`image index ${desc.digest} lists too many manifests`, undefined, location);
      const manifests = json.manifests.map((d, i) =>
        parseDescriptor(this.#f, d, `image index ${desc.digest} manifests[${i}]`),
      );
      return { kind: "index", descriptor: desc, manifests, json, bytes };
    }
    if (json.config === undefined) {
      throw this.#f.invalid(
        `image manifest ${desc.digest} has no config`,
        "an image manifest needs a config descriptor; re-export the image",
        location,
      );
    }
    const config = parseDescriptor(this.#f, json.config, `image manifest ${desc.digest} config`);
    if (!Array.isArray(json.layers))
      throw this.#f.invalid(`image manifest ${desc.digest} has no layers list`, undefined, location);
    const layers = json.layers.map((d, i) =>
      parseDescriptor(this.#f, d, `image manifest ${desc.digest} layers[${i}]`),
    );
    return { kind: "image", descriptor: desc, config, layers, json, bytes };
  }

  async readConfig(desc: Descriptor): Promise<OciImageConfig> {
    const { json } = await this.#json(desc, "image config");
    const out: OciImageConfig = { labels: {}, json };
    if (typeof json.os === "string" && typeof json.architecture === "string") {
      const p: OciPlatform = { os: json.os, architecture: json.architecture };
      if (typeof json.variant === "string" && json.variant) p.variant = json.variant;
      out.platform = p;
    }
    const inner = json.config;
    if (isRecord(inner) && isRecord(inner.Labels)) {
      for (const [k, v] of Object.entries(inner.Labels)) if (typeof v === "string") out.labels[k] = v;
    }
    return out;
  }

  async images(): Promise<OciImageEntry[]> {
    const out: OciImageEntry[] = [];
    const seen = new Set<string>();
    const walk = async (list: readonly Descriptor[], depth: number) => {
      if (depth > MAX_INDEX_DEPTH)
        throw this.#f.invalid("image indexes are nested too deeply", "re-export the image");
      for (const d of list) {
        if (d.mediaType === OCI_MEDIA_TYPES.index || d.mediaType === OCI_MEDIA_TYPES.dockerList) {
          // An index that lists itself (directly or not) would otherwise loop until the depth cap.
          if (seen.has(d.digest)) continue;
          seen.add(d.digest);
          const m = await this.readManifest(d);
          if (m.kind === "index") await walk(m.manifests, depth + 1);
        } else if (
          d.mediaType === OCI_MEDIA_TYPES.manifest ||
          d.mediaType === OCI_MEDIA_TYPES.dockerManifest
        ) {
          // Build attestations ride along in indexes as "unknown/unknown" manifests.
          if (d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest") continue;
          if (d.platform?.os === "unknown") continue;
          out.push(d.platform ? { descriptor: d, platform: d.platform } : { descriptor: d });
        }
      }
    };
    await walk(this.manifests, 0);
    return out;
  }

  async selectImage(platform?: string): Promise<Extract<OciManifest, { kind: "image" }>> {
    const want = platform === undefined ? undefined : parsePlatform(platform);
    const candidates = await this.images();
    if (candidates.length === 0) {
      throw new TalosExtError({
        code: "OCI_PLATFORM_NOT_FOUND",
        message: "the image layout holds no image manifest",
        hint: "export an image, not an empty layout",
        location: { file: this.source },
      });
    }
    const load = async (c: OciImageEntry) => {
      const m = await this.readManifest(c.descriptor);
      if (m.kind !== "image")
        throw this.#f.invalid(`manifest ${c.descriptor.digest} is an index, listed as an image`);
      return m;
    };
    if (want === undefined && candidates.length === 1) return load(candidates[0]!);
    // Talos builds pull linux/<arch>; with no platform given, amd64 is the usual target.
    const target = want ?? parsePlatform("linux/amd64");
    const seen: string[] = [];
    for (const c of candidates) {
      const manifest = await load(c);
      const have = c.platform ?? (await this.readConfig(manifest.config)).platform;
      if (have) seen.push(formatPlatform(have));
      if (have && platformMatches(target, have)) return manifest;
    }
    throw new TalosExtError({
      code: "OCI_PLATFORM_NOT_FOUND",
      message: `no image for platform ${formatPlatform(target)} (found: ${seen.join(", ") || "none with a platform"})`,
      hint: "pass --platform with one of the platforms the image was built for",
      location: { file: this.source },
    });
  }
}

async function openStore(store: BlobStore, f: Faults): Promise<OciLayoutReader> {
  const layoutBytes = await store.file("oci-layout", 64 * 1024);
  if (!layoutBytes) throw f.invalid("oci-layout file is missing", "this is not an OCI image layout");
  const layout = parseJson(f, layoutBytes, "oci-layout", store.location("oci-layout"));
  if (typeof layout.imageLayoutVersion !== "string") {
    throw f.invalid(
      "oci-layout has no imageLayoutVersion",
      "this is not an OCI image layout",
      store.location("oci-layout"),
    );
  }
  const indexBytes = await store.file("index.json", MAX_OCI_JSON);
  if (!indexBytes) throw f.invalid("index.json is missing", "this is not an OCI image layout");
  const indexFile = store.location("index.json");
  const index = parseJson(f, indexBytes, "index.json", indexFile);
  if (!Array.isArray(index.manifests))
    throw f.invalid("index.json has no manifests list", "re-export the image", indexFile);
  if (index.manifests.length > MAX_INDEX_ENTRIES)
    throw f.invalid("index.json lists too many manifests", "re-export the image", indexFile);
  const manifests = index.manifests.map((d, i) => parseDescriptor(f, d, `index.json manifests[${i}]`));
  return new LayoutReader(store, f, manifests);
}

/** Opens an OCI image layout directory (reads and checks `oci-layout` and `index.json`). */
export async function openOciLayout(dir: string, options: OciLayoutOptions = {}): Promise<OciLayoutReader> {
  const f = new Faults(dir, options.codes ?? OCI_LAYOUT_CODES);
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (e) {
    throw f.invalid(`cannot read OCI layout ${dir}: ${(e as Error).message}`, "check the path", dir, e);
  }
  if (!isDir) throw f.invalid(`${dir} is not a directory`, "pass an OCI image layout directory");
  return openStore(dirStore(dir, f), f);
}

/** Opens a tar (plain, gzip or zstd) of an OCI image layout, e.g. from `skopeo copy … oci-archive:x.tar`. */
export async function openOciArchive(file: string, options: OciLayoutOptions = {}): Promise<OciLayoutReader> {
  const f = new Faults(file, options.codes ?? OCI_LAYOUT_CODES);
  return openStore(await archiveStore(file, f), f);
}

/** True when the top-level names of a tree look like an OCI layout (`oci-layout` + `index.json`). */
export function looksLikeOciLayout(names: Iterable<string>): boolean {
  const set = new Set(names);
  return set.has("oci-layout") && set.has("index.json");
}
