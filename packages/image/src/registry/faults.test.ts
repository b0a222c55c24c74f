import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningRegistry, startRegistry } from "../../../../tools/harness/registry.ts";
import { layoutTopDigest, writeLayout } from "../../test/layouts.ts";
import { type ProgressEvent, pullLayout, pushLayout, RegistryClient } from "./index.ts";

let reg: RunningRegistry;
let work: string;

beforeAll(async () => {
  reg = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "talos-ext-faults-"));
});
afterAll(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});
afterEach(() => {
  reg.setFaults(undefined);
  reg.clearLog();
});

function collect() {
  const events: ProgressEvent[] = [];
  return { events, onProgress: (e: ProgressEvent) => events.push(e) };
}
const retries = (events: ProgressEvent[]) =>
  events.filter((e): e is Extract<ProgressEvent, { type: "retry" }> => e.type === "retry");
const base = { insecure: true, retryDelayMs: 20 };
const UPLOAD_PUT = { method: "PUT", path: /\/blobs\/uploads\// };

describe("retries against injected faults", () => {
  it("retries a 500 on a blob upload, then succeeds", async () => {
    const src = await writeLayout(join(work, "r500"));
    reg.setFaults({ match: UPLOAD_PUT, failNth: 1, status: 500 });
    const { events, onProgress } = collect();
    const pushed = await pushLayout(src.dir, `${reg.url}/faults/r500:v1`, { ...base, onProgress });
    expect(pushed.digest).toBe(src.digest);
    expect(retries(events)).toEqual([
      expect.objectContaining({ attempt: 1, reason: expect.stringContaining("500") }),
    ]);
    expect(reg.requests.filter((r) => r.fault === "status")).toHaveLength(1);
  });

  it("honours Retry-After on 429", async () => {
    const src = await writeLayout(join(work, "r429"), { layers: 1 });
    reg.setFaults({ match: { method: "HEAD" }, failNth: 1, status: 429, retryAfterSeconds: 1 });
    const { events, onProgress } = collect();
    const pushed = await pushLayout(src.dir, `${reg.url}/faults/r429:v1`, { ...base, onProgress });
    expect(pushed.digest).toBe(src.digest);
    expect(retries(events)).toEqual([expect.objectContaining({ attempt: 1, delayMs: 1000 })]);
  });

  it("retries a request that times out", async () => {
    const src = await writeLayout(join(work, "timeout"), { layers: 1 });
    reg.setFaults({ match: { method: "HEAD" }, delayMs: 1500, delayNth: 1 });
    const { events, onProgress } = collect();
    const pushed = await pushLayout(src.dir, `${reg.url}/faults/timeout:v1`, {
      ...base,
      timeoutMs: 300,
      onProgress,
    });
    expect(pushed.digest).toBe(src.digest);
    expect(retries(events)).toEqual([
      expect.objectContaining({ reason: expect.stringContaining("timeout") }),
    ]);
  });

  it("persistent failure: REGISTRY_HTTP, and the tag was never written", async () => {
    const src = await writeLayout(join(work, "persist"));
    reg.setFaults({ match: UPLOAD_PUT, failNth: "all", status: 503 });
    const { events, onProgress } = collect();
    const err = await pushLayout(src.dir, `${reg.url}/faults/persist:v1`, {
      ...base,
      retries: 2,
      onProgress,
    }).catch((e) => e);
    expect(err).toMatchObject({ code: "REGISTRY_HTTP" });
    expect(err.message).toContain("503");
    expect(retries(events).length).toBeGreaterThanOrEqual(2);
    expect(reg.requests.filter((r) => r.url.includes("/manifests/") && r.method === "PUT")).toEqual([]);
    reg.setFaults(undefined);
    const client = new RegistryClient(base);
    await expect(client.getManifest(`${reg.url}/faults/persist:v1`)).rejects.toMatchObject({
      code: "REGISTRY_NOT_FOUND",
    });
  });

  it("a connection reset mid-upload restarts that blob cleanly", async () => {
    const src = await writeLayout(join(work, "reset-once"), { layers: 1, layerSize: 64 * 1024 });
    reg.setFaults({ resetMidUpload: 1 });
    const { events, onProgress } = collect();
    const pushed = await pushLayout(src.dir, `${reg.url}/faults/reset-once:v1`, { ...base, onProgress });
    expect(pushed.digest).toBe(src.digest);
    expect(reg.requests.filter((r) => r.fault === "reset")).toHaveLength(1);
    expect(retries(events)).toHaveLength(1);
    const out = join(work, "reset-once-pulled");
    await pullLayout(`${reg.url}/faults/reset-once:v1`, out, base);
    expect(await layoutTopDigest(out)).toBe(src.digest);
  });

  it("resets that persist fail the push; a re-run skips the blobs already there", async () => {
    const src = await writeLayout(join(work, "reset"), { layers: 3, layerSize: 32 * 1024 });
    // The first upload gets through, every later one is cut half-way.
    reg.setFaults({ resetMidUpload: (n) => n >= 2 });
    const err = await pushLayout(src.dir, `${reg.url}/faults/reset:v1`, { ...base, retries: 1 }).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ code: "REGISTRY_UNREACHABLE" });
    reg.setFaults(undefined);
    const client = new RegistryClient(base);
    const present = [];
    for (const b of src.blobs)
      if (await client.blobExists(`${reg.url}/faults/reset`, b.digest)) present.push(b);
    expect(present).toHaveLength(1);
    await expect(client.getManifest(`${reg.url}/faults/reset:v1`)).rejects.toMatchObject({
      code: "REGISTRY_NOT_FOUND",
    });

    const { events, onProgress } = collect();
    const again = await pushLayout(src.dir, `${reg.url}/faults/reset:v1`, { ...base, onProgress });
    expect(again).toMatchObject({ digest: src.digest, skippedBlobs: 1, pushedBlobs: src.blobs.length - 1 });
    expect(events).toContainEqual(
      expect.objectContaining({ type: "blob-skipped", digest: present[0]!.digest }),
    );
  });

  it("a reset during a chunked upload restarts the blob from a fresh session", async () => {
    const src = await writeLayout(join(work, "reset-chunk"), { layers: 1, layerSize: 40_000 });
    reg.setFaults({ match: { method: "PATCH" }, resetMidUpload: 2 });
    const { events, onProgress } = collect();
    const pushed = await pushLayout(src.dir, `${reg.url}/faults/reset-chunk:v1`, {
      ...base,
      chunkSize: 16 * 1024,
      onProgress,
    });
    expect(pushed.digest).toBe(src.digest);
    expect(retries(events)).toHaveLength(1);
    const out = join(work, "reset-chunk-pulled");
    await pullLayout(`${reg.url}/faults/reset-chunk:v1`, out, base);
    expect(await layoutTopDigest(out)).toBe(src.digest);
  });

  it("retries a 502 on a blob download during pull", async () => {
    const src = await writeLayout(join(work, "pull502"), { layers: 1 });
    await pushLayout(src.dir, `${reg.url}/faults/pull502:v1`, base);
    reg.setFaults({ match: { method: "GET", path: /\/blobs\// }, failNth: 1, status: 502 });
    const { events, onProgress } = collect();
    const out = join(work, "pull502-out");
    const pulled = await pullLayout(`${reg.url}/faults/pull502:v1`, out, { ...base, onProgress });
    expect(pulled.digest).toBe(src.digest);
    expect(retries(events)).toHaveLength(1);
  });

  it("the retry budget is per request: a registry failing every third request still takes the push", async () => {
    const src = await writeLayout(join(work, "every-third"), { layers: 3 });
    reg.setFaults({ failNth: (n) => n % 3 === 0, status: 503 });
    const { events, onProgress } = collect();
    const pushed = await pushLayout(src.dir, `${reg.url}/faults/every-third:v1`, {
      ...base,
      retries: 1,
      // One request at a time, so "every third" is well defined: each failed request's retry is
      // the next one, which goes through. (One budget for the whole blob failed this push.)
      concurrency: 1,
      onProgress,
    });
    expect(pushed.digest).toBe(src.digest);
    expect(reg.requests.filter((r) => r.fault === "status").length).toBeGreaterThanOrEqual(3);
    expect(retries(events).length).toBe(reg.requests.filter((r) => r.fault === "status").length);
    const out = join(work, "every-third-pulled");
    const pulled = await pullLayout(`${reg.url}/faults/every-third:v1`, out, {
      ...base,
      retries: 1,
      concurrency: 1,
    });
    expect(pulled.digest).toBe(src.digest);
    expect(await layoutTopDigest(out)).toBe(src.digest);
  });
});
