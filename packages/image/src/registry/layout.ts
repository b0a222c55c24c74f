/**
 * Push an OCI image layout to a registry and pull one back. A push sends every blob, then child
 * manifests by digest, then the top manifest under the tag last, so the tag never points at
 * partial content. A pull verifies every digest and appears at its target only when complete.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import {
  type Descriptor as OciDescriptor,
  type OciLayoutCodes,
  type OciLayoutReader,
  openOciArchive,
  openOciLayout,
} from "@talos-ext/spec";
import { type BlobSource, RegistryClient, type RegistryClientOptions } from "./client.ts";
import { mismatch, parseDigest } from "./digest.ts";
import { registryError } from "./errors.ts";
import { isIndexMediaType, OCI_INDEX, sniffManifestMediaType } from "./media-types.ts";
import { type ImageReference, toReference, withDigest } from "./reference.ts";

/** The annotation that names a manifest's tag in an OCI layout's `index.json`. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

interface PulledDescriptor {
  mediaType?: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Record<string, unknown>;
}

interface ManifestJson {
  mediaType?: string;
  config?: PulledDescriptor;
  layers?: PulledDescriptor[];
  manifests?: PulledDescriptor[];
}

/** Options of {@link pushLayout}: the client's, plus blob mounting and parallelism. */
export interface PushLayoutOptions extends RegistryClientOptions {
  /** A repository on the same registry to mount blobs from instead of uploading them. */
  mountFrom?: string;
  /** Blobs uploaded at once; default 3. */
  concurrency?: number;
}

/** What {@link pushLayout} did. */
export interface PushLayoutResult {
  /** Digest of the top manifest (or index) now under the tag. */
  digest: string;
  /** Media type of that manifest or index. */
  mediaType: string;
  /** Blobs uploaded. */
  pushedBlobs: number;
  /** Blobs the registry already had (HEAD). */
  skippedBlobs: number;
  /** Blobs mounted from `mountFrom`. */
  mountedBlobs: number;
}

/** Options of {@link pullLayout}: the client's, plus parallelism. */
export interface PullLayoutOptions extends RegistryClientOptions {
  /** Blobs downloaded at once; default 3. */
  concurrency?: number;
}

function limiter(n: number) {
  let active = 0;
  const queue: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

/** The layout reader's faults, in the registry client's codes. */
const PUSH_LAYOUT_CODES: OciLayoutCodes = {
  invalid: "REGISTRY_BAD_LAYOUT",
  missing: "REGISTRY_BAD_LAYOUT",
  mismatch: "REGISTRY_DIGEST_MISMATCH",
};

function badLayout(file: string, message: string, hint: string) {
  return registryError("REGISTRY_BAD_LAYOUT", message, hint, { file });
}

function checkDescriptor(d: unknown, file: string, where: string): PulledDescriptor {
  const desc = d as PulledDescriptor;
  if (!desc || typeof desc !== "object" || typeof desc.digest !== "string" || typeof desc.size !== "number") {
    throw badLayout(
      file,
      `${where} is not a descriptor (digest and size)`,
      "rewrite the layout with its producer",
    );
  }
  try {
    parseDigest(desc.digest);
  } catch (e) {
    throw badLayout(
      file,
      `${where} has an invalid digest "${desc.digest.slice(0, 140)}"`,
      (e as { hint?: string }).hint ?? "",
    );
  }
  return desc;
}

function blobPath(layoutDir: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(layoutDir, "blobs", algorithm, hex);
}

/** Opens what `pushLayout` was given: a layout directory, a tar of one, or an opened reader. */
async function openForPush(source: string | OciLayoutReader): Promise<OciLayoutReader> {
  if (typeof source !== "string") return source;
  let isDir: boolean;
  try {
    isDir = (await stat(source)).isDirectory();
  } catch (e) {
    throw registryError(
      "REGISTRY_BAD_LAYOUT",
      `cannot read ${source}: ${(e as Error).message}`,
      "point at a directory (or oci-archive tar) that holds an OCI image layout",
      { file: source, cause: e },
    );
  }
  return isDir
    ? openOciLayout(source, { codes: PUSH_LAYOUT_CODES })
    : openOciArchive(source, { codes: PUSH_LAYOUT_CODES });
}

/**
 * Pushes an OCI image layout (one image, or an index of several) to `ref`. `layout` is a layout
 * directory, a tar of one (`oci-archive`), or a reader from `openOciLayout`/`openOciArchive`;
 * every manifest is verified as it is read, and every blob while it is sent.
 */
export async function pushLayout(
  layout: string | OciLayoutReader,
  ref: string | ImageReference,
  options: PushLayoutOptions = {},
): Promise<PushLayoutResult> {
  const r = toReference(ref);
  const reader = await openForPush(layout);
  const indexFile = `${reader.source}/index.json`;
  const descs = reader.manifests;
  let top: OciDescriptor | undefined;
  if (descs.length === 1) top = descs[0];
  else if (r.tag) top = descs.find((d) => d.annotations?.[REF_NAME_ANNOTATION] === r.tag);
  if (!top) {
    throw badLayout(
      indexFile,
      descs.length === 0
        ? "index.json lists no manifests"
        : `index.json lists ${descs.length} manifests and none is annotated ${REF_NAME_ANNOTATION}=${r.tag ?? "<tag>"}`,
      descs.length === 0
        ? "build the image into the layout first"
        : "push a layout with one top-level manifest (or index), or pick one by its ref.name tag",
    );
  }

  const client = new RegistryClient(options);
  const run = limiter(Math.max(1, options.concurrency ?? 3));
  const blobs = new Map<string, Promise<void>>();
  const counts = { pushedBlobs: 0, skippedBlobs: 0, mountedBlobs: 0 };
  const mount = options.mountFrom === undefined ? {} : { mountFrom: options.mountFrom };
  let failed = false;
  // A manifest's blobs are in its repository, so once one had to be sent the manifest cannot be
  // there yet: PUT it without asking first (a HEAD only saves the PUT of an unchanged image).
  const sentBlobs = () => counts.pushedBlobs + counts.mountedBlobs > 0;
  const manifestThere = async (target: ImageReference) =>
    sentBlobs() ? undefined : client.headManifest(target, "push");

  /** The blob's bytes for the upload: the file itself for a directory, a stream for an archive. */
  const sourceOf = async (desc: OciDescriptor, owner: string): Promise<BlobSource | undefined> => {
    const missing = () =>
      badLayout(
        reader.blobLocation(desc),
        `blob ${desc.digest} of ${owner} is missing from the layout`,
        "rewrite the layout with its producer",
      );
    if (reader.blobFile) {
      const file = await reader.blobFile(desc);
      if (file !== undefined) return () => ({ path: file });
      // Non-distributable layers are referenced by URL and may be absent.
      if (desc.urls?.length) return undefined;
      throw missing();
    }
    try {
      reader.openBlob(desc); // an archive's reader throws here when the member is absent
    } catch (e) {
      if (desc.urls?.length) return undefined;
      throw e;
    }
    return () => {
      const bytes = reader.openBlob(desc);
      return bytes instanceof Uint8Array ? bytes : Readable.from(bytes);
    };
  };

  const pushBlob = (desc: OciDescriptor, owner: string): Promise<void> => {
    let p = blobs.get(desc.digest);
    if (!p) {
      p = run(async () => {
        if (failed) return;
        const open = await sourceOf(desc, owner);
        if (!open) return;
        const outcome = await client.pushBlob(r, desc, open, mount);
        if (outcome === "uploaded") counts.pushedBlobs++;
        else if (outcome === "mounted") counts.mountedBlobs++;
        else counts.skippedBlobs++;
      });
      blobs.set(desc.digest, p);
    }
    return p;
  };

  /** Pushes everything `desc` refers to; returns its bytes and media type (not itself pushed). */
  const pushContent = async (desc: OciDescriptor): Promise<{ bytes: Uint8Array; mediaType: string }> => {
    const m = await reader.readManifest(desc);
    const mediaType = desc.mediaType || sniffManifestMediaType(m.json);
    if (m.kind === "index") {
      for (const child of m.manifests) {
        const c = await pushContent(child);
        const childRef = withDigest(r, child.digest);
        const there = await manifestThere(childRef);
        if (there) {
          options.onProgress?.({
            type: "manifest-skipped",
            repository: r.repository,
            reference: child.digest,
            digest: child.digest,
          });
        } else {
          await client.putManifest(childRef, c.bytes, c.mediaType);
        }
      }
      return { bytes: m.bytes, mediaType };
    }
    const parts = [m.config, ...m.layers];
    await Promise.all(parts.map((d) => pushBlob(d, `manifest ${desc.digest}`)));
    return { bytes: m.bytes, mediaType };
  };

  try {
    const { bytes, mediaType } = await pushContent(top);
    const digest = top.digest;
    if (r.digest && r.digest !== digest) {
      throw mismatch(
        `layout content for ${r}`,
        r.digest,
        digest,
        "the reference's digest must match the layout's manifest",
      );
    }
    const there = await manifestThere(r);
    if (there?.digest === digest) {
      options.onProgress?.({
        type: "manifest-skipped",
        repository: r.repository,
        reference: r.tag ?? digest,
        digest,
      });
    } else {
      await client.putManifest(r, bytes, mediaType);
    }
    return { digest, mediaType, ...counts };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    // Settle in-flight uploads before returning so nothing runs after an error is reported.
    await Promise.allSettled(blobs.values());
    client.close();
  }
}

/**
 * Pulls `ref` (an image or a whole index with every platform) into an OCI image layout at
 * `layoutDir`, replacing what is there only once everything is downloaded and verified.
 */
export async function pullLayout(
  ref: string | ImageReference,
  layoutDir: string,
  options: PullLayoutOptions = {},
): Promise<{
  /** The digest of what `ref` names (the image manifest or the index), verified. */
  digest: string;
  /** The media type of that manifest or index. */
  mediaType: string;
}> {
  const r = toReference(ref);
  const target = resolve(layoutDir);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${basename(target)}.tmp-${randomBytes(6).toString("hex")}`);
  const client = new RegistryClient(options);
  const run = limiter(Math.max(1, options.concurrency ?? 3));
  const done = new Map<string, Promise<void>>();

  const fetchBlob = (desc: PulledDescriptor): Promise<void> => {
    let p = done.get(desc.digest);
    if (!p) {
      p = run(async () => {
        const file = blobPath(tmp, desc.digest);
        await mkdir(dirname(file), { recursive: true });
        await client.downloadBlob(r, desc.digest, desc.size, () => createWriteStream(file));
      });
      done.set(desc.digest, p);
    }
    return p;
  };

  const writeManifest = async (digest: string, body: Uint8Array) => {
    const file = blobPath(tmp, digest);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, body);
  };

  const walk = async (body: Uint8Array, mediaType: string, where: string): Promise<void> => {
    let json: ManifestJson;
    try {
      json = JSON.parse(Buffer.from(body).toString("utf8")) as ManifestJson;
    } catch {
      throw registryError(
        "REGISTRY_HTTP",
        `${where} is not JSON`,
        "the reference does not name an OCI image",
      );
    }
    if (isIndexMediaType(mediaType)) {
      for (const child of json.manifests ?? []) {
        checkDescriptor(child, where, "manifests[]");
        const m = await client.getManifest(withDigest(r, child.digest));
        if (m.body.length !== child.size) {
          throw mismatch(`manifest ${child.digest} size`, `${child.size} bytes`, `${m.body.length} bytes`);
        }
        await writeManifest(child.digest, m.body);
        await walk(m.body, child.mediaType ?? m.mediaType, `manifest ${child.digest}`);
      }
      return;
    }
    const parts = [...(json.config ? [json.config] : []), ...(json.layers ?? [])];
    await Promise.all(parts.map((d) => fetchBlob(checkDescriptor(d, where, "blob"))));
  };

  try {
    const top = await client.getManifest(r);
    await mkdir(join(tmp, "blobs"), { recursive: true });
    await writeManifest(top.digest, top.body);
    await walk(top.body, top.mediaType, `manifest ${r}`);
    await writeFile(join(tmp, "oci-layout"), `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}\n`);
    const desc: PulledDescriptor = { mediaType: top.mediaType, digest: top.digest, size: top.body.length };
    if (r.tag) desc.annotations = { [REF_NAME_ANNOTATION]: r.tag };
    const index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [desc] };
    await writeFile(join(tmp, "index.json"), `${JSON.stringify(index, null, 2)}\n`);
    await replaceDir(tmp, target);
    return { digest: top.digest, mediaType: top.mediaType };
  } catch (e) {
    await Promise.allSettled(done.values());
    await rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    client.close();
  }
}

/** Moves a finished directory into place; an existing target is swapped out, then removed. */
async function replaceDir(tmp: string, target: string): Promise<void> {
  try {
    await rename(tmp, target);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") {
      throw registryError(
        "REGISTRY_BAD_LAYOUT",
        `cannot write the layout to ${target} (${code})`,
        "pick a directory path you can write",
        {
          file: target,
          cause: e,
        },
      );
    }
  }
  const old = `${target}.old-${randomBytes(6).toString("hex")}`;
  await rename(target, old);
  await rename(tmp, target);
  await rm(old, { recursive: true, force: true });
}
