import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TalosExtError } from "@talos-ext/spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SourceServer, startSourceServer } from "../../../../tools/harness/source-server.ts";
import { type DownloadFault, download } from "./index.ts";

// Faults come back as errors whose code is the fault's kind, so tests see what the primitive decided.
const errors = (f: DownloadFault) =>
  new TalosExtError({
    code: `T_${f.kind.toUpperCase().replace(/-/g, "_")}`,
    message: JSON.stringify(f),
    hint: "",
  });

const DATA = randomBytes(300_000);
const sha256 = createHash("sha256").update(DATA).digest("hex");
let a: SourceServer;
let b: SourceServer;
let work: string;
beforeAll(async () => {
  a = await startSourceServer();
  b = await startSourceServer();
  a.addFile("d.bin", DATA);
  b.addFile("d.bin", DATA);
  work = await mkdtemp(join(tmpdir(), "net-download-"));
});
afterAll(async () => {
  await a.close();
  await b.close();
  await rm(work, { recursive: true, force: true });
});

const base = { errors, proxyEnv: {}, retryDelayMs: 1 };

describe("download()", () => {
  it("verifies while streaming and writes the file atomically", async () => {
    const file = join(work, "ok.bin");
    const r = await download({
      ...base,
      url: `${a.url}/file/d.bin`,
      expect: { sha256 },
      compute: ["sha512"],
      to: { file },
    });
    expect(r).toMatchObject({ size: DATA.length, attempts: 1, path: file, digests: { sha256 } });
    expect(r.digests.sha512).toMatch(/^[0-9a-f]{128}$/);
    expect((await readFile(file)).equals(DATA)).toBe(true);
    expect((await readdir(work)).filter((n) => n.endsWith(".part"))).toEqual([]);
  });

  it("a checksum mismatch writes nothing and is not retried", async () => {
    const file = join(work, "bad.bin");
    const before = a.hits("/corrupt/d.bin");
    await expect(
      download({ ...base, url: `${a.url}/corrupt/d.bin`, expect: { sha256 }, to: { file } }),
    ).rejects.toMatchObject({ code: "T_CHECKSUM" });
    expect(a.hits("/corrupt/d.bin") - before).toBe(1);
    expect((await readdir(work)).filter((n) => n.startsWith("bad") || n.endsWith(".part"))).toEqual([]);
  });

  it("retries 5xx with backoff and reports each retry", async () => {
    const retries: number[] = [];
    const r = await download({
      ...base,
      url: `${a.url}/fail/d.bin?times=2`,
      onRetry: (n) => retries.push(n),
    });
    expect(r.attempts).toBe(3);
    expect(retries).toEqual([1, 2]);
  });

  it("never sends credential headers to another origin after a redirect", async () => {
    const target = `${b.url}/file/d.bin`;
    await download({
      ...base,
      url: `${a.url}/to?url=${encodeURIComponent(target)}`,
      credentialHeaders: { Authorization: "Bearer top-secret" },
    });
    const first = a.requests.filter((q) => q.url.startsWith("/to?")).at(-1)!;
    expect(first.headers.authorization).toBe("Bearer top-secret");
    const second = b.requests.filter((q) => q.url === "/file/d.bin").at(-1)!;
    expect(second.headers.authorization).toBeUndefined();
  });

  it("refuses redirects to file: and other schemes", async () => {
    await expect(
      download({ ...base, url: `${a.url}/to?url=${encodeURIComponent("file:///etc/passwd")}` }),
    ).rejects.toMatchObject({
      code: "T_BAD_REDIRECT",
      message: expect.stringContaining('"reason":"scheme"'),
    });
  });

  it("a size budget stops an endless body early", async () => {
    await expect(download({ ...base, url: `${a.url}/file/d.bin`, maxBytes: 1000 })).rejects.toMatchObject({
      code: "T_TOO_LARGE",
    });
  });

  it("the caller's signal cancels with its reason", async () => {
    const controller = new AbortController();
    const reason = new TalosExtError({ code: "T_CANCELED", message: "canceled", hint: "" });
    const p = download({ ...base, url: `${a.url}/slow/d.bin?interval=20`, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await expect(p).rejects.toBe(reason);
  });
  it("reports progress with the URL asked for, without credentials or query, whatever faults show", async () => {
    const urls = new Set<string>();
    const target = `${b.url}/file/d.bin?X-Amz-Signature=secret-token`;
    const asked = new URL(`${a.url}/to?url=${encodeURIComponent(target)}`);
    asked.username = "user";
    asked.password = "pass";
    const r = await download({
      ...base,
      url: asked,
      show: (u) => u.href, // faults may keep everything; progress never does
      progressStep: 64 * 1024,
      onProgress: (e) => urls.add(e.url),
    });
    expect(r.size).toBe(DATA.length);
    expect([...urls]).toEqual([`${a.url}/to`]);
  });
});
