import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SourceServer, startSourceServer } from "../../../../tools/harness/source-server.ts";
import { cachePathFor, fetchSource } from "./fetch.ts";
import type { SourceProgress, SourceSpec } from "./types.ts";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const sha512 = (b: Uint8Array) => createHash("sha512").update(b).digest("hex");
const DATA = randomBytes(700_000);
const SMALL = Buffer.from("a slow trickle\n");

let work: string;
let server: SourceServer;
let n = 0;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "sources-hostile-"));
  server = await startSourceServer();
  server.addFile("data.bin", DATA);
  server.addFile("small.txt", SMALL);
});
afterAll(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

const spec = (path: string, data: Uint8Array): SourceSpec => ({
  url: `${server.url}${path}`,
  destination: "x",
  sha256: sha256(data),
  sha512: sha512(data),
});
const cache = () => join(work, `cache-${n++}`);

describe("overall deadline and progress", () => {
  it("ends a slow trickle at the deadline with SOURCE_DEADLINE, not retried, nothing cached", async () => {
    const cacheDir = cache();
    const before = server.hits("/slow/small.txt");
    // One byte every 50 ms never trips the 5 s idle timeout; the 300 ms deadline ends it.
    const err = await fetchSource(spec("/slow/small.txt?interval=50", SMALL), {
      cacheDir,
      proxyEnv: {},
      timeoutMs: 5000,
      deadlineMs: 300,
      retries: 3,
      retryDelayMs: 1,
    }).catch((e) => e);
    expect(err).toMatchObject({ code: "SOURCE_DEADLINE" });
    expect(err.message).toContain("300 ms");
    expect(server.hits("/slow/small.txt") - before).toBe(1);
    await expect(readFile(cachePathFor(sha256(SMALL), { cacheDir }))).rejects.toMatchObject({
      code: "ENOENT",
    });
  });

  it("reports progress: the start, steps, and one final verified report", async () => {
    const events: SourceProgress[] = [];
    const r = await fetchSource(spec("/file/data.bin", DATA), {
      cacheDir: cache(),
      proxyEnv: {},
      onProgress: (e) => events.push(e),
    });
    expect(r.fromCache).toBe(false);
    expect(events[0]).toMatchObject({ bytes: 0, total: DATA.length, attempt: 0, done: false });
    expect(events.filter((e) => e.done)).toEqual([
      expect.objectContaining({ bytes: DATA.length, total: DATA.length, done: true }),
    ]);
    expect(events.length).toBeGreaterThan(2);
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.bytes).toBeGreaterThanOrEqual(events[i - 1]!.bytes);
  });
});

describe("the source cache reads regular files only", () => {
  async function entry(make: (path: string) => Promise<void>): Promise<{ cacheDir: string; path: string }> {
    const cacheDir = cache();
    const path = cachePathFor(sha256(DATA), { cacheDir });
    await mkdir(join(cacheDir, "sha256"), { recursive: true });
    await make(path);
    return { cacheDir, path };
  }

  it("a FIFO in the cache is SOURCE_CACHE_NOT_FILE, not a hang", async () => {
    const { cacheDir, path } = await entry(async (p) => {
      await execa("mkfifo", [p]);
    });
    const err = await fetchSource(spec("/file/data.bin", DATA), { cacheDir, proxyEnv: {} }).catch((e) => e);
    expect(err).toMatchObject({ code: "SOURCE_CACHE_NOT_FILE" });
    expect(err.message).toContain(path);
    expect(err.message).toContain("FIFO");
  });

  it("a directory in the cache is SOURCE_CACHE_NOT_FILE, not a crash", async () => {
    const { cacheDir } = await entry((p) => mkdir(p));
    await expect(fetchSource(spec("/file/data.bin", DATA), { cacheDir, proxyEnv: {} })).rejects.toMatchObject(
      {
        code: "SOURCE_CACHE_NOT_FILE",
        message: expect.stringContaining("a directory"),
      },
    );
  });

  it("a symlink in the cache is not followed, even to the right bytes", async () => {
    const target = join(work, `elsewhere-${n++}`);
    await writeFile(target, DATA);
    const { cacheDir } = await entry((p) => symlink(target, p));
    await expect(
      fetchSource(spec("/file/data.bin", DATA), { cacheDir, proxyEnv: {}, offline: true }),
    ).rejects.toMatchObject({
      code: "SOURCE_CACHE_NOT_FILE",
      message: expect.stringContaining("symbolic link"),
    });
  });

  it("a cache whose tmp directory is a file is SOURCE_CACHE_UNUSABLE", async () => {
    const cacheDir = cache();
    await mkdir(cacheDir, { recursive: true });
    await writeFile(join(cacheDir, "tmp"), "not a directory");
    await expect(fetchSource(spec("/file/data.bin", DATA), { cacheDir, proxyEnv: {} })).rejects.toMatchObject(
      {
        code: "SOURCE_CACHE_UNUSABLE",
      },
    );
  });
});
