import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRegistry, startRegistry } from "../../../../tools/harness/registry.ts";
import { layoutTopDigest, randomLayer, writeLayout } from "../../test/layouts.ts";
import { type ProgressEvent, pullLayout, pushLayout, RegistryClient } from "./index.ts";

const exec = promisify(execFile);
const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

let reg: RunningRegistry;
let work: string;

beforeAll(async () => {
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "talos-ext-pushpull-"));
});
afterAll(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const opts = (extra: object = {}) => ({ insecure: true, retryDelayMs: 20, ...extra });

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await exec("skopeo", args, { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

describe("push and pull against a real registry", () => {
  it("round-trips a single image with digests preserved, and skopeo sees the same digest", async () => {
    const src = await writeLayout(join(work, "single"), { layers: 2 });
    const ref = `${reg.url}/talos/single:v1`;
    const pushed = await pushLayout(src.dir, ref, opts());
    expect(pushed.digest).toBe(src.digest);
    expect(pushed.pushedBlobs).toBe(3);
    expect(pushed.skippedBlobs).toBe(0);

    const info = JSON.parse(await skopeo("inspect", "--tls-verify=false", `docker://${ref}`)) as {
      Digest: string;
    };
    expect(info.Digest).toBe(src.digest);

    const out = join(work, "single-pulled");
    const pulled = await pullLayout(ref, out, opts());
    expect(pulled.digest).toBe(src.digest);
    expect(await layoutTopDigest(out)).toBe(src.digest);
    const index = JSON.parse(await readFile(join(out, "index.json"), "utf8"));
    expect(index.manifests[0].annotations["org.opencontainers.image.ref.name"]).toBe("v1");
    for (const b of [...src.blobs, ...src.manifests]) {
      const bytes = await readFile(join(out, "blobs", "sha256", b.digest.slice(7)));
      expect(sha256(bytes)).toBe(b.digest);
    }
    // skopeo reads our pulled layout as a valid OCI layout.
    const fromLayout = JSON.parse(await skopeo("inspect", `oci:${out}:v1`)) as { Digest: string };
    expect(fromLayout.Digest).toBe(src.digest);
  });

  it("round-trips a multi-platform index; skopeo copy --all keeps the index digest", async () => {
    const src = await writeLayout(join(work, "multi"), {
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64" },
      ],
      layers: 1,
    });
    const ref = `${reg.url}/talos/multi:v2`;
    const events: ProgressEvent[] = [];
    const pushed = await pushLayout(src.dir, ref, opts({ onProgress: (e: ProgressEvent) => events.push(e) }));
    expect(pushed.digest).toBe(src.digest);
    expect(pushed.pushedBlobs).toBe(src.blobs.length);
    // Children by digest first, the tag last.
    const puts = events
      .filter((e) => e.type === "manifest-put")
      .map((e) => (e as { reference: string }).reference);
    expect(puts).toEqual([...src.manifests.map((m) => m.digest), "v2"]);

    const raw = await skopeo("inspect", "--raw", "--tls-verify=false", `docker://${ref}`);
    expect(sha256(Buffer.from(raw))).toBe(src.digest);
    const copyDir = join(work, "skopeo-copy");
    await skopeo("copy", "--all", "--src-tls-verify=false", `docker://${ref}`, `oci:${copyDir}:v2`);
    expect(await layoutTopDigest(copyDir)).toBe(src.digest);

    const out = join(work, "multi-pulled");
    const pulled = await pullLayout(ref, out, opts());
    expect(pulled.digest).toBe(src.digest);
    const files = await readdir(join(out, "blobs", "sha256"));
    expect(files.sort()).toEqual(
      [src.digest, ...src.manifests.map((m) => m.digest), ...src.blobs.map((b) => b.digest)]
        .map((d) => d.slice(7))
        .sort(),
    );
  });

  it("pushes a layout made by umoci (an independent producer)", async () => {
    const dir = join(work, "umoci");
    await exec("umoci", ["init", "--layout", dir]);
    await exec("umoci", ["new", "--image", `${dir}:u1`]);
    const payload = join(work, "payload.txt");
    await writeFile(payload, "hello from umoci\n");
    await exec("umoci", ["insert", "--rootless", "--image", `${dir}:u1`, payload, "/payload.txt"]);
    const ref = `${reg.url}/talos/umoci:u1`;
    const pushed = await pushLayout(dir, ref, opts());
    expect(pushed.digest).toBe(await layoutTopDigest(dir));
    const info = JSON.parse(await skopeo("inspect", "--tls-verify=false", `docker://${ref}`)) as {
      Digest: string;
    };
    expect(info.Digest).toBe(pushed.digest);
  });

  it("re-pushing an unchanged image only sends HEADs", async () => {
    const src = await writeLayout(join(work, "again"), { layers: 2 });
    const ref = `${reg.url}/talos/again:v1`;
    await pushLayout(src.dir, ref, opts());
    reg.clearLog();
    const events: ProgressEvent[] = [];
    const second = await pushLayout(src.dir, ref, opts({ onProgress: (e: ProgressEvent) => events.push(e) }));
    expect(second).toMatchObject({ digest: src.digest, pushedBlobs: 0, skippedBlobs: 3 });
    expect(events.filter((e) => e.type === "blob-upload" || e.type === "manifest-put")).toEqual([]);
    expect(events.filter((e) => e.type === "blob-skipped")).toHaveLength(3);
    const methods = new Set(reg.requests.filter((r) => r.url !== "/v2/").map((r) => r.method));
    expect([...methods]).toEqual(["HEAD"]);
  });

  it("a first push sends HEAD, POST and PUT per blob, then the tag's PUT without asking first", async () => {
    const src = await writeLayout(join(work, "first"), { layers: 2 });
    reg.clearLog();
    await pushLayout(src.dir, `${reg.url}/talos/first:v1`, opts());
    const kinds = reg.requests
      .filter((r) => r.url !== "/v2/")
      .map((r) => {
        const what = r.url.includes("/manifests/")
          ? "manifest"
          : r.url.includes("/uploads/")
            ? "upload"
            : "blob";
        return `${r.method} ${what}`;
      });
    for (const kind of ["HEAD blob", "POST upload", "PUT upload"])
      expect(kinds.filter((k) => k === kind)).toHaveLength(src.blobs.length);
    expect(kinds.filter((k) => k.endsWith("manifest"))).toEqual(["PUT manifest"]);
    expect(kinds.at(-1)).toBe("PUT manifest");
  });

  it("mounts blobs from another repository instead of uploading them", async () => {
    const base = [randomLayer(4096, "base.bin")];
    const a = await writeLayout(join(work, "mount-a"), { baseLayers: base, layers: 1 });
    await pushLayout(a.dir, `${reg.url}/talos/base:v1`, opts());
    const b = await writeLayout(join(work, "mount-b"), { baseLayers: base, layers: 1 });
    reg.clearLog();
    const events: ProgressEvent[] = [];
    const pushed = await pushLayout(
      b.dir,
      `${reg.url}/talos/derived:v1`,
      opts({ mountFrom: "talos/base", onProgress: (e: ProgressEvent) => events.push(e) }),
    );
    expect(pushed.mountedBlobs).toBe(1);
    expect(pushed.pushedBlobs).toBe(2);
    expect(events).toContainEqual(
      expect.objectContaining({ type: "blob-mounted", digest: base[0]!.blob.digest, from: "talos/base" }),
    );
    const mounts = reg.requests.filter((r) => r.method === "POST" && r.url.includes("mount="));
    expect(mounts.length).toBe(3);
    // A mount the registry cannot satisfy falls back to an upload (202 + Location).
    const client = new RegistryClient(opts());
    expect(await client.blobExists(`${reg.url}/talos/derived:v1`, base[0]!.blob.digest)).toBe(true);
  });

  it("uploads in chunks (PATCH with Content-Range) when chunkSize is set", async () => {
    const src = await writeLayout(join(work, "chunked"), { layers: 1, layerSize: 50_000 });
    reg.clearLog();
    const pushed = await pushLayout(src.dir, `${reg.url}/talos/chunked:v1`, opts({ chunkSize: 16 * 1024 }));
    expect(pushed.digest).toBe(src.digest);
    const patches = reg.requests.filter((r) => r.method === "PATCH");
    expect(patches.length).toBe(Math.ceil(src.blobs.find((b) => b.size > 50_000)!.size / (16 * 1024)));
    const out = join(work, "chunked-pulled");
    await pullLayout(`${reg.url}/talos/chunked:v1`, out, opts());
    expect(await layoutTopDigest(out)).toBe(src.digest);
  });

  it("pushBlob accepts bytes, web streams and node streams, and fetchBlob verifies", async () => {
    const client = new RegistryClient(opts());
    const repo = `${reg.url}/talos/blobs`;
    for (const make of [
      (b: Buffer) => new Uint8Array(b),
      (b: Buffer) => new Blob([b]).stream(),
      (b: Buffer) => Readable.from([b.subarray(0, 3), b.subarray(3)]),
    ]) {
      const bytes = Buffer.from(`blob ${Math.random()}`);
      const desc = { digest: sha256(bytes), size: bytes.length };
      const open = () => make(bytes) as Uint8Array;
      expect(await client.pushBlob(repo, desc, open)).toBe("uploaded");
      expect(await client.pushBlob(repo, desc, open)).toBe("exists");
      expect(Buffer.from(await client.fetchBlob(repo, desc.digest))).toEqual(bytes);
    }
    client.close();
  });

  it("rejects a local blob whose bytes do not match its digest, without uploading it", async () => {
    const client = new RegistryClient(opts());
    const bytes = Buffer.from("the real content");
    const desc = { digest: sha256(Buffer.from("other content")), size: bytes.length };
    await expect(client.pushBlob(`${reg.url}/talos/bad`, desc, () => bytes)).rejects.toMatchObject({
      code: "REGISTRY_DIGEST_MISMATCH",
    });
    expect(await client.blobExists(`${reg.url}/talos/bad`, desc.digest)).toBe(false);
  });

  it("detects a blob corrupted in the registry's storage on pull, and leaves no layout behind", async () => {
    const src = await writeLayout(join(work, "corrupt"), { layers: 1 });
    const ref = `${reg.url}/talos/corrupt:v1`;
    await pushLayout(src.dir, ref, opts());
    const layer = src.blobs.find((b) => b.mediaType.includes("layer"))!;
    const hex = layer.digest.slice(7);
    const data = join(reg.storageDir, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
    const bytes = await readFile(data);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1);
    await writeFile(data, bytes);

    const client = new RegistryClient(opts({ retries: 0 }));
    await expect(client.fetchBlob(ref, layer.digest)).rejects.toMatchObject({
      code: "REGISTRY_DIGEST_MISMATCH",
    });
    const out = join(work, "corrupt-pulled");
    await expect(pullLayout(ref, out, opts({ retries: 0 }))).rejects.toMatchObject({
      code: "REGISTRY_DIGEST_MISMATCH",
    });
    await expect(stat(out)).rejects.toMatchObject({ code: "ENOENT" });
    expect((await readdir(work)).filter((n) => n.includes("corrupt-pulled"))).toEqual([]);
  });

  it("replaces an existing layout only when the new pull is complete", async () => {
    const one = await writeLayout(join(work, "replace-1"), { layers: 1 });
    const two = await writeLayout(join(work, "replace-2"), { layers: 1 });
    await pushLayout(one.dir, `${reg.url}/talos/replace:one`, opts());
    await pushLayout(two.dir, `${reg.url}/talos/replace:two`, opts());
    const out = join(work, "replace-out");
    await pullLayout(`${reg.url}/talos/replace:one`, out, opts());
    await expect(pullLayout(`${reg.url}/talos/replace:missing`, out, opts())).rejects.toMatchObject({
      code: "REGISTRY_NOT_FOUND",
    });
    expect(await layoutTopDigest(out)).toBe(one.digest);
    await pullLayout(`${reg.url}/talos/replace:two`, out, opts());
    expect(await layoutTopDigest(out)).toBe(two.digest);
  });

  it("verifies manifest digests on getManifest", async () => {
    const src = await writeLayout(join(work, "getm"), { layers: 1 });
    await pushLayout(src.dir, `${reg.url}/talos/getm:v1`, opts());
    const client = new RegistryClient(opts());
    const m = await client.getManifest(`${reg.url}/talos/getm:v1`);
    expect(m.digest).toBe(src.digest);
    expect(sha256(m.body)).toBe(src.digest);
    expect(m.mediaType).toBe(src.mediaType);
    const byDigest = await client.getManifest(`${reg.url}/talos/getm@${src.digest}`);
    expect(byDigest.digest).toBe(src.digest);
    const other = sha256(Buffer.from("never pushed"));
    await expect(client.getManifest(`${reg.url}/talos/getm@${other}`)).rejects.toMatchObject({
      code: "REGISTRY_NOT_FOUND",
    });
  });

  it("fails fast with REGISTRY_UNREACHABLE when nothing listens", async () => {
    const client = new RegistryClient(opts());
    await expect(client.blobExists(`127.0.0.1:1/x/y:z`, `sha256:${"0".repeat(64)}`)).rejects.toMatchObject({
      code: "REGISTRY_UNREACHABLE",
    });
  });

  it("pushes a tar of a layout (oci-archive) with the same digest as the directory", async () => {
    const src = await writeLayout(join(work, "archived"), { layers: 2 });
    const archive = join(work, "archived.tar");
    await exec("tar", ["-cf", archive, "-C", src.dir, "."]);
    const ref = `${reg.url}/talos/archived:v1`;
    const pushed = await pushLayout(archive, ref, opts());
    expect(pushed.digest).toBe(src.digest);
    expect(pushed.pushedBlobs).toBe(3);
    const info = JSON.parse(await skopeo("inspect", "--tls-verify=false", `docker://${ref}`)) as {
      Digest: string;
    };
    expect(info.Digest).toBe(src.digest);
  });

  it("refuses a FIFO index.json at once and a manifest that does not match its digest, pushing no tag", async () => {
    const fifo = await writeLayout(join(work, "fifo"), { layers: 1 });
    await rm(join(fifo.dir, "index.json"));
    await exec("mkfifo", [join(fifo.dir, "index.json")]);
    await expect(pushLayout(fifo.dir, `${reg.url}/talos/fifo:v1`, opts())).rejects.toMatchObject({
      code: "REGISTRY_BAD_LAYOUT",
      location: { file: join(fifo.dir, "index.json") },
    });

    const bad = await writeLayout(join(work, "badmanifest"), { layers: 1 });
    await writeFile(join(bad.dir, "blobs", "sha256", bad.digest.slice(7)), `{"schemaVersion":2}`);
    const ref = `${reg.url}/talos/badmanifest:v1`;
    await expect(pushLayout(bad.dir, ref, opts())).rejects.toMatchObject({
      code: "REGISTRY_DIGEST_MISMATCH",
    });
    const client = new RegistryClient(opts());
    await expect(client.getManifest(ref)).rejects.toMatchObject({ code: "REGISTRY_NOT_FOUND" });
    client.close();
  });
});
