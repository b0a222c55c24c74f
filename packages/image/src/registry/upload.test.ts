import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type LoggedRequest,
  type RunningRegistry,
  startRegistry,
} from "../../../../tools/harness/registry.ts";
import { layoutTopDigest, writeLayout } from "../../test/layouts.ts";
import { type BlobSource, type ProgressEvent, pullLayout, pushLayout, RegistryClient } from "./index.ts";

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const opts = (extra: object = {}) => ({ insecure: true, retryDelayMs: 20, ...extra });
// Larger than the client's file block (2 MiB), so several reused buffers take turns.
const BIG = 5 * 1024 * 1024 + 7;

let reg: RunningRegistry;
let work: string;

beforeAll(async () => {
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "talos-ext-upload-"));
});
afterAll(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});
afterEach(() => {
  reg.setFaults(undefined);
  reg.clearLog();
});

/**
 * The registry answers an upload PUT only once it has the whole body (with a bad digest: 400
 * DIGEST_INVALID). The proxy logs 502 for one the client abandoned before its last byte, which the
 * registry could never commit. The proxy runs in this process, so its log may lag behind the client.
 */
async function expectNeverCompleted(digest: string): Promise<void> {
  const puts = (): LoggedRequest[] =>
    reg.requests.filter(
      (r) =>
        r.method === "PUT" && r.url.includes("/blobs/uploads/") && r.url.includes(encodeURIComponent(digest)),
    );
  await vi.waitFor(() => expect(puts().length).toBeGreaterThan(0));
  for (const put of puts()) await vi.waitFor(() => expect(put.status).not.toBe(0));
  expect(puts().map((p) => p.status)).toEqual(puts().map(() => 502));
}

describe("uploads from local files", () => {
  it("uploads a file of several blocks exactly, with progress up to its size", async () => {
    const bytes = randomBytes(BIG);
    const file = join(work, "big.bin");
    await writeFile(file, bytes);
    const events: ProgressEvent[] = [];
    const client = new RegistryClient(opts({ onProgress: (e: ProgressEvent) => events.push(e) }));
    const repo = `${reg.url}/upload/file`;
    const desc = { digest: sha256(bytes), size: bytes.length };
    expect(await client.pushBlob(repo, desc, () => ({ path: file }))).toBe("uploaded");
    expect(Buffer.from(await client.fetchBlob(repo, desc.digest, desc.size)).equals(bytes)).toBe(true);
    const sent = events.flatMap((e) => (e.type === "blob-upload" ? [e.bytes] : []));
    expect(sent[0]).toBe(0);
    expect(sent.at(-1)).toBe(bytes.length);
    expect(sent).toEqual([...sent].sort((a, b) => a - b));
    client.close();
  });

  it("a reset in the middle of a large file restarts it from the start, and the pull matches", async () => {
    const src = await writeLayout(join(work, "reset-big"), { layers: 1, layerSize: BIG });
    reg.setFaults({ resetMidUpload: 1 });
    const events: ProgressEvent[] = [];
    const pushed = await pushLayout(
      src.dir,
      `${reg.url}/upload/reset-big:v1`,
      opts({ onProgress: (e: ProgressEvent) => events.push(e) }),
    );
    expect(pushed.digest).toBe(src.digest);
    expect(reg.requests.filter((r) => r.fault === "reset")).toHaveLength(1);
    expect(events.filter((e) => e.type === "retry")).toHaveLength(1);
    const out = join(work, "reset-big-pulled");
    await pullLayout(`${reg.url}/upload/reset-big:v1`, out, opts());
    expect(await layoutTopDigest(out)).toBe(src.digest);
  });
});

describe("a corrupt local blob is never committed", () => {
  it("pushLayout stops at a corrupt layer, names its file, leaves no blob and no tag", async () => {
    const src = await writeLayout(join(work, "corrupt"), { layers: 1, layerSize: BIG });
    const layer = src.blobs.find((b) => b.mediaType.includes("layer"))!;
    const file = join(src.dir, "blobs", "sha256", layer.digest.slice(7));
    // Same size, one byte different: only hashing the content can tell.
    const bytes = await readFile(file);
    const mid = bytes.length >> 1;
    bytes.writeUInt8(bytes.readUInt8(mid) ^ 0xff, mid);
    await writeFile(file, bytes);

    const ref = `${reg.url}/upload/corrupt:v1`;
    const err = await pushLayout(src.dir, ref, opts()).catch((e) => e);
    expect(err).toMatchObject({ code: "REGISTRY_DIGEST_MISMATCH", location: { file } });
    expect(err.message).toContain(layer.digest);
    await expectNeverCompleted(layer.digest);
    expect(reg.requests.filter((r) => r.url.includes("/manifests/") && r.method === "PUT")).toEqual([]);

    const client = new RegistryClient(opts());
    expect(await client.blobExists(ref, layer.digest)).toBe(false);
    await expect(client.getManifest(ref)).rejects.toMatchObject({ code: "REGISTRY_NOT_FOUND" });
    client.close();
  });

  it("pushBlob from a corrupt stream, web stream, bytes or file: aborted before the last byte", async () => {
    const good = randomBytes(BIG);
    const bad = Buffer.from(good);
    bad.writeUInt8(bad.readUInt8(bad.length - 1) ^ 0x01, bad.length - 1);
    const file = join(work, "bad.bin");
    await writeFile(file, bad);
    const pieces = (b: Buffer) => [b.subarray(0, 1000), b.subarray(1000, 3 << 20), b.subarray(3 << 20)];
    const sources: Record<string, BlobSource> = {
      "node stream": () => Readable.from(pieces(bad)),
      "web stream": () =>
        new ReadableStream<Uint8Array>({
          start(c) {
            for (const p of pieces(bad)) c.enqueue(p);
            c.close();
          },
        }),
      bytes: () => new Uint8Array(bad),
      file: () => ({ path: file }),
    };
    const client = new RegistryClient(opts({ retries: 0 }));
    const desc = { digest: sha256(good), size: good.length };
    for (const [kind, open] of Object.entries(sources)) {
      reg.clearLog();
      const repo = `${reg.url}/upload/bad-${kind.replace(" ", "-")}`;
      const err = await client.pushBlob(repo, desc, open).catch((e) => e);
      expect(err, kind).toMatchObject({ code: "REGISTRY_DIGEST_MISMATCH" });
      if (kind === "file") expect(err).toMatchObject({ location: { file } });
      // Bytes arrive in one piece: held back whole, so no upload is sent at all.
      if (kind !== "bytes") await expectNeverCompleted(desc.digest);
      expect(await client.blobExists(repo, desc.digest), kind).toBe(false);
    }
    client.close();
  });

  it("pushBlob rejects a file shorter or longer than its descriptor without uploading it", async () => {
    const good = randomBytes(4096);
    const desc = { digest: sha256(good), size: good.length };
    const client = new RegistryClient(opts({ retries: 0 }));
    for (const [name, bytes] of [
      ["short", good.subarray(0, 4000)],
      ["long", Buffer.concat([good, Buffer.from("x")])],
    ] as const) {
      const file = join(work, `${name}.bin`);
      await writeFile(file, bytes);
      const repo = `${reg.url}/upload/${name}`;
      await expect(client.pushBlob(repo, desc, () => ({ path: file }))).rejects.toMatchObject({
        code: "REGISTRY_DIGEST_MISMATCH",
        location: { file },
      });
      expect(await client.blobExists(repo, desc.digest)).toBe(false);
    }
    client.close();
  });
});
