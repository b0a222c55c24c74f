import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SourceServer, startSourceServer } from "../../../../tools/harness/source-server.ts";
import { makeServerTls } from "../../../../tools/harness/tls.ts";
import { cachePathFor } from "../sources/fetch.ts";
import { downloadDigests } from "./download.ts";
import { planRewrites, writeRewrites } from "./rewrite.ts";

const DATA = "some release tarball\n";
const sha256 = createHash("sha256").update(DATA).digest("hex");
const sha512 = createHash("sha512").update(DATA).digest("hex");

let server: SourceServer;
let tlsServer: SourceServer;
let ca: string;
let work: string;
const fast = { retries: 0, timeoutMs: 5000, proxyEnv: {} };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "talos-ext-update-dl-"));
  server = await startSourceServer();
  server.addFile("a.tgz", DATA);
  const tls = await makeServerTls(join(work, "tls"));
  ca = await readFile(tls.caFile, "utf8");
  tlsServer = await startSourceServer({
    tls: { cert: await readFile(tls.certFile, "utf8"), key: await readFile(tls.keyFile, "utf8") },
  });
  tlsServer.addFile("a.tgz", DATA);
});
afterAll(async () => {
  await server.close();
  await tlsServer.close();
  await rm(work, { recursive: true, force: true });
});

describe("downloadDigests", () => {
  it("follows redirects, sends Accept: */*, hashes and stores the file by its sha256", async () => {
    const cacheDir = join(work, "cache1");
    const d = await downloadDigests(`${server.url}/redirect/302/3/a.tgz`, { ...fast, cacheDir });
    expect(d).toMatchObject({
      sha256,
      sha512,
      size: DATA.length,
      cachePath: cachePathFor(sha256, { cacheDir }),
    });
    expect(await readFile(d.cachePath!, "utf8")).toBe(DATA);
    expect(await readdir(join(cacheDir, "tmp"))).toEqual([]);
    const last = server.requests.at(-1)!;
    expect(last.url).toBe("/file/a.tgz");
    expect(last.headers.accept).toBe("*/*");
  });

  it("stores nothing without a cache dir", async () => {
    const d = await downloadDigests(`${server.url}/file/a.tgz`, fast);
    expect(d.cachePath).toBeUndefined();
    expect(d.sha512).toBe(sha512);
  });

  it("turns HTTP errors, too many redirects and https->http downgrades into UPDATE_DOWNLOAD_FAILED", async () => {
    const cacheDir = join(work, "cache2");
    await expect(
      downloadDigests(`${server.url}/fail/a.tgz?times=always`, { ...fast, cacheDir }),
    ).rejects.toMatchObject({
      code: "UPDATE_DOWNLOAD_FAILED",
      message: expect.stringContaining("HTTP 500"),
    });
    await expect(downloadDigests(`${server.url}/loop`, fast)).rejects.toMatchObject({
      code: "UPDATE_DOWNLOAD_FAILED",
    });
    const downgrade = `${tlsServer.url}/to?url=${encodeURIComponent(`${server.url}/file/a.tgz`)}`;
    const err = await downloadDigests(downgrade, { ...fast, ca }).catch((e) => e);
    expect(err.code).toBe("UPDATE_DOWNLOAD_FAILED");
    expect(err.cause.code).toBe("SOURCE_INSECURE_REDIRECT");
    // The cache is only touched once a 2xx arrives.
    await expect(readdir(cacheDir)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(downloadDigests("ftp://example.invalid/x", fast)).rejects.toMatchObject({
      code: "UPDATE_BAD_URL",
    });
  });

  it("drops the partial cache file when the connection is cut mid-body", async () => {
    const cacheDir = join(work, "cache3");
    await expect(downloadDigests(`${server.url}/reset/a.tgz`, { ...fast, cacheDir })).rejects.toMatchObject({
      code: "UPDATE_DOWNLOAD_FAILED",
    });
    expect(await readdir(join(cacheDir, "tmp"))).toEqual([]);
    await expect(readdir(join(cacheDir, "sha256"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("retries a 5xx and then succeeds", async () => {
    const d = await downloadDigests(`${server.url}/fail/a.tgz?times=1&k=retry`, {
      ...fast,
      retries: 1,
      retryDelayMs: 1,
    });
    expect(d.sha256).toBe(sha256);
  });
});

describe("writeRewrites", () => {
  it("writes every file or none: a file changed on disk stops the whole write", async () => {
    const root = await mkdtemp(join(work, "tree-"));
    await writeFile(join(root, "Pkgfile"), "vars:\n  A: old1\n");
    await writeFile(join(root, "vars.yaml"), "B: old1 # x\n");
    const pairs = [{ algorithm: "sha256" as const, old: "old1", new: "new1" }];
    const { rewrites } = await planRewrites(root, ["Pkgfile", "vars.yaml"], pairs);
    expect(rewrites.map((r) => r.file)).toEqual(["Pkgfile", "vars.yaml"]);
    await writeFile(join(root, "vars.yaml"), "B: edited\n");
    await expect(writeRewrites(rewrites)).rejects.toMatchObject({ code: "UPDATE_FILE_CHANGED" });
    expect(await readFile(join(root, "Pkgfile"), "utf8")).toBe("vars:\n  A: old1\n");
    expect((await readdir(root)).sort()).toEqual(["Pkgfile", "vars.yaml"]);

    const again = await planRewrites(root, ["Pkgfile", "vars.yaml"], pairs);
    await writeRewrites(again.rewrites);
    expect(await readFile(join(root, "Pkgfile"), "utf8")).toBe("vars:\n  A: new1\n");
    expect(await readFile(join(root, "vars.yaml"), "utf8")).toBe("B: edited\n");
  });
});
