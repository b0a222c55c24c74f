import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ForwardProxy,
  type SourceServer,
  startForwardProxy,
  startSourceServer,
} from "../../../../tools/harness/source-server.ts";
import { makeServerTls } from "../../../../tools/harness/tls.ts";
import { cachePathFor, defaultCacheDir, fetchSource, fetchSources } from "./fetch.ts";
import { USER_AGENT } from "./http.ts";
import type { SourceCacheOptions, SourceSpec } from "./types.ts";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const sha512 = (b: Uint8Array) => createHash("sha512").update(b).digest("hex");

let work: string;
let server: SourceServer;
let proxy: ForwardProxy;
const DATA = randomBytes(200_000);
const SMALL = Buffer.from("tiny source\n");
let caseNo = 0;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "sources-"));
  server = await startSourceServer();
  server.addFile("data.tar.gz", DATA);
  server.addFile("small.txt", SMALL);
  proxy = await startForwardProxy();
});
afterAll(async () => {
  await server.close();
  await proxy.close();
  await rm(work, { recursive: true, force: true });
});

/** A fresh cache dir, fast retries and no proxy from the environment. */
function opts(extra: SourceCacheOptions = {}): SourceCacheOptions & { cacheDir: string } {
  return { cacheDir: join(work, `cache-${caseNo++}`), retryDelayMs: 1, proxyEnv: {}, ...extra };
}

function spec(path: string, data: Uint8Array = DATA, base = server.url): SourceSpec {
  return { url: `${base}${path}`, destination: "data.tar.gz", sha256: sha256(data), sha512: sha512(data) };
}

/** Every regular file under the cache dir; each must be a verified blob named by its sha256. */
async function cacheFiles(cacheDir: string, rel = ""): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(join(cacheDir, rel));
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    const p = rel ? `${rel}/${name}` : name;
    if ((await stat(join(cacheDir, p))).isDirectory()) out.push(...(await cacheFiles(cacheDir, p)));
    else out.push(p);
  }
  return out;
}

async function expectOnlyVerified(cacheDir: string): Promise<string[]> {
  const files = await cacheFiles(cacheDir);
  for (const f of files) {
    expect(f).toMatch(/^sha256\/[0-9a-f]{64}$/);
    expect(sha256(await readFile(join(cacheDir, f)))).toBe(f.slice(7));
  }
  return files;
}

describe("fetchSource", () => {
  it("downloads, verifies both checksums and stores the file by content address", async () => {
    const o = opts();
    const progress: { bytes: number; total?: number }[] = [];
    const res = await fetchSource(spec("/file/data.tar.gz"), { ...o, onProgress: (e) => progress.push(e) });
    expect(res).toMatchObject({ fromCache: false, url: `${server.url}/file/data.tar.gz` });
    expect(res.path).toBe(join(o.cacheDir, "sha256", sha256(DATA)));
    expect(res.path).toBe(cachePathFor(sha256(DATA), o));
    expect(await readFile(res.path)).toEqual(DATA);
    expect(progress.at(-1)).toMatchObject({ bytes: DATA.length, total: DATA.length });
    const sent = server.requests.filter((r) => r.url === "/file/data.tar.gz").at(-1)!;
    expect(sent.headers.accept).toBe("*/*");
    expect(sent.headers["user-agent"]).toBe(USER_AGENT);
    expect(USER_AGENT).toMatch(/^talos-ext\/\d+\.\d+\.\d+/);

    const before = server.hits("/file/data.tar.gz");
    const again = await fetchSource(spec("/file/data.tar.gz"), o);
    expect(again).toMatchObject({ fromCache: true, path: res.path });
    expect(server.hits("/file/data.tar.gz")).toBe(before);
    expect(await expectOnlyVerified(o.cacheDir)).toEqual([`sha256/${sha256(DATA)}`]);
  });

  it("rejects a corrupted download with SOURCE_CHECKSUM_MISMATCH and leaves the cache clean", async () => {
    const o = opts();
    const err = await fetchSource(spec("/corrupt/data.tar.gz"), o).catch((e) => e);
    expect(err.code).toBe("SOURCE_CHECKSUM_MISMATCH");
    expect(err.message).toContain(`${server.url}/corrupt/data.tar.gz`);
    expect(err.message).toContain("sha256");
    expect(err.message).toContain(sha256(DATA));
    const bad = Buffer.from(DATA);
    bad[bad.length >> 1] = bad[bad.length >> 1]! ^ 0xff;
    expect(err.message).toContain(sha256(bad));
    expect(await expectOnlyVerified(o.cacheDir)).toEqual([]);
  });

  it("checks the sha512 too: a right sha256 with a wrong sha512 is a mismatch", async () => {
    const o = opts();
    const wrong512 = "0".repeat(128);
    const err = await fetchSource({ ...spec("/file/data.tar.gz"), sha512: wrong512 }, o).catch((e) => e);
    expect(err.code).toBe("SOURCE_CHECKSUM_MISMATCH");
    expect(err.message).toContain("sha512");
    expect(err.message).toContain(wrong512);
    expect(err.message).toContain(sha512(DATA));
    expect(await expectOnlyVerified(o.cacheDir)).toEqual([]);
  });

  it("refuses malformed checksums with SOURCE_BAD_CHECKSUM before any request", async () => {
    const before = server.requests.length;
    for (const bad of [
      { sha256: "abc" },
      { sha256: "g".repeat(64) },
      { sha512: "f".repeat(127) },
      { sha512: `${"a".repeat(127)}z` },
    ]) {
      await expect(fetchSource({ ...spec("/file/data.tar.gz"), ...bad }, opts())).rejects.toMatchObject({
        code: "SOURCE_BAD_CHECKSUM",
      });
    }
    await expect(
      fetchSources([spec("/file/data.tar.gz"), { ...spec("/x"), sha256: "1" }], opts()),
    ).rejects.toMatchObject({ code: "SOURCE_BAD_CHECKSUM" });
    expect(() => cachePathFor("nope")).toThrow(expect.objectContaining({ code: "SOURCE_BAD_CHECKSUM" }));
    expect(server.requests.length).toBe(before);
  });

  it("times out on a server that goes quiet (SOURCE_TIMEOUT), and waits for a slow one that keeps sending", async () => {
    const o = opts({ timeoutMs: 100, retries: 1 });
    await expect(fetchSource(spec("/slow/small.txt?interval=1000", SMALL), o)).rejects.toMatchObject({
      code: "SOURCE_TIMEOUT",
    });
    expect(server.hits("/slow/small.txt")).toBe(2);
    expect(await expectOnlyVerified(o.cacheDir)).toEqual([]);
    const ok = await fetchSource(spec("/slow/small.txt?interval=5", SMALL), opts({ timeoutMs: 5000 }));
    expect(await readFile(ok.path)).toEqual(SMALL);
  });

  it("retries 5xx with backoff and succeeds when the server recovers", async () => {
    const res = await fetchSource(spec("/fail/data.tar.gz?times=2&k=recover"), opts({ retries: 3 }));
    expect(res.fromCache).toBe(false);
    expect(server.requests.filter((r) => r.url === "/fail/data.tar.gz?times=2&k=recover")).toHaveLength(3);
  });

  it("gives up after the configured retries with SOURCE_HTTP_ERROR", async () => {
    const o = opts({ retries: 2 });
    await expect(fetchSource(spec("/fail/data.tar.gz?times=always&k=down"), o)).rejects.toMatchObject({
      code: "SOURCE_HTTP_ERROR",
      message: expect.stringContaining("HTTP 500"),
    });
    expect(server.requests.filter((r) => r.url === "/fail/data.tar.gz?times=always&k=down")).toHaveLength(3);
    expect(await expectOnlyVerified(o.cacheDir)).toEqual([]);
  });

  it("does not retry a 404", async () => {
    const before = server.hits("/missing.tar.gz");
    await expect(fetchSource(spec("/missing.tar.gz"), opts({ retries: 3 }))).rejects.toMatchObject({
      code: "SOURCE_HTTP_ERROR",
      message: expect.stringContaining("HTTP 404"),
    });
    expect(server.hits("/missing.tar.gz")).toBe(before + 1);
  });

  it("retries a connection reset mid-body and never caches the partial file", async () => {
    const o = opts({ retries: 2 });
    const before = server.hits("/reset/data.tar.gz");
    await expect(fetchSource(spec("/reset/data.tar.gz"), o)).rejects.toMatchObject({
      code: "SOURCE_NETWORK_ERROR",
    });
    expect(server.hits("/reset/data.tar.gz")).toBe(before + 3);
    expect(await expectOnlyVerified(o.cacheDir)).toEqual([]);
  });

  it.each([301, 302, 307])("follows a chain of %i redirects", async (code) => {
    const res = await fetchSource(spec(`/redirect/${code}/3/data.tar.gz`), opts());
    expect(await readFile(res.path)).toEqual(DATA);
    expect(res.url).toBe(`${server.url}/redirect/${code}/3/data.tar.gz`);
  });

  it("follows 10 redirects but not 11, and stops a redirect loop", async () => {
    await expect(fetchSource(spec("/redirect/302/10/data.tar.gz"), opts())).resolves.toMatchObject({
      fromCache: false,
    });
    await expect(fetchSource(spec("/redirect/302/11/data.tar.gz"), opts())).rejects.toMatchObject({
      code: "SOURCE_TOO_MANY_REDIRECTS",
    });
    const o = opts();
    await expect(fetchSource(spec("/loop"), o)).rejects.toMatchObject({
      code: "SOURCE_TOO_MANY_REDIRECTS",
      message: expect.stringContaining("loop"),
    });
    expect(await expectOnlyVerified(o.cacheDir)).toEqual([]);
  });

  it("tries a mirror first and falls back to the original URL", async () => {
    const mirrors = [
      { prefix: "https://upstream.invalid/", replacement: `${server.url}/file/` },
      { prefix: "https://upstream.invalid/", replacement: `${server.url}/never/` },
    ];
    const viaMirror = await fetchSource(
      { ...spec(""), url: "https://upstream.invalid/data.tar.gz" },
      opts({ mirrors, retries: 0 }),
    );
    expect(viaMirror.url).toBe(`${server.url}/file/data.tar.gz`);
    expect(server.hits("/never/data.tar.gz")).toBe(0);

    const broken = [{ prefix: `${server.url}/file/`, replacement: `${server.url}/gone/` }];
    const fallback = await fetchSource(spec("/file/data.tar.gz"), opts({ mirrors: broken, retries: 0 }));
    expect(fallback.url).toBe(`${server.url}/file/data.tar.gz`);
    expect(server.hits("/gone/data.tar.gz")).toBeGreaterThan(0);

    const nowhere = [{ prefix: `${server.url}/nothing/`, replacement: `${server.url}/gone/` }];
    const both = await fetchSource(
      spec("/nothing/data.tar.gz"),
      opts({ mirrors: nowhere, retries: 0 }),
    ).catch((e) => e);
    expect(both.code).toBe("SOURCE_HTTP_ERROR");
    expect(both.message).toContain(`${server.url}/nothing/data.tar.gz`);
    expect(both.message).toContain(`${server.url}/gone/data.tar.gz`);
    expect(both.diagnostics).toHaveLength(2);
  });

  it("offline: serves a cached file, and names URL, checksums and cache path when it is missing", async () => {
    const o = opts();
    const before = server.requests.length;
    const err = await fetchSource(spec("/file/small.txt", SMALL), { ...o, offline: true }).catch((e) => e);
    expect(err.code).toBe("SOURCE_OFFLINE_MISSING");
    const where = cachePathFor(sha256(SMALL), o);
    for (const s of [`${server.url}/file/small.txt`, sha256(SMALL), sha512(SMALL)])
      expect(err.message).toContain(s);
    expect(err.hint).toContain(where);
    expect(err.hint).toContain("verified");
    expect(server.requests.length).toBe(before);

    // A file placed by hand at that path is used (after verification).
    await mkdir(join(o.cacheDir, "sha256"), { recursive: true });
    await writeFile(where, SMALL);
    await expect(fetchSource(spec("/file/small.txt", SMALL), { ...o, offline: true })).resolves.toMatchObject(
      {
        fromCache: true,
        path: where,
      },
    );
    expect(server.requests.length).toBe(before);
  });

  it("removes a corrupted cache entry: re-fetched online, reported offline", async () => {
    const o = opts();
    const where = cachePathFor(sha256(SMALL), o);
    await mkdir(join(o.cacheDir, "sha256"), { recursive: true });
    await writeFile(where, "tampered\n");
    const err = await fetchSource(spec("/file/small.txt", SMALL), { ...o, offline: true }).catch((e) => e);
    expect(err.code).toBe("SOURCE_CACHE_CORRUPT");
    expect(err.hint).toContain(where);
    expect(await cacheFiles(o.cacheDir)).toEqual([]);

    await writeFile(where, "tampered again\n");
    const res = await fetchSource(spec("/file/small.txt", SMALL), o);
    expect(res.fromCache).toBe(false);
    expect(await readFile(where)).toEqual(SMALL);
    expect(await expectOnlyVerified(o.cacheDir)).toHaveLength(1);
  });

  it("removes temp files that a crashed download left behind, but not fresh ones", async () => {
    const o = opts();
    const tmp = join(o.cacheDir, "tmp");
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, "old.1.x.part"), "partial");
    await writeFile(join(tmp, "fresh.2.y.part"), "partial");
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 60 * 60 * 1000);
    await utimes(join(tmp, "old.1.x.part"), twoDaysAgo, twoDaysAgo);
    await fetchSource(spec("/file/small.txt?k=sweep", SMALL), o);
    expect(await readdir(tmp)).toEqual(["fresh.2.y.part"]);
  });

  it("downloads a source once when it is fetched concurrently", async () => {
    const o = opts();
    const url = "/file/data.tar.gz?k=concurrent";
    const results = await Promise.all(Array.from({ length: 6 }, () => fetchSource(spec(url), o)));
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    expect(server.requests.filter((r) => r.url === url)).toHaveLength(1);
    expect(await expectOnlyVerified(o.cacheDir)).toHaveLength(1);
  });
});

describe("fetchSources", () => {
  it("fetches in parallel, one download per checksum, results in input order", async () => {
    const o = opts({ concurrency: 2 });
    const list = [
      { ...spec("/file/data.tar.gz?k=many"), destination: "a.tgz" },
      { ...spec("/file/small.txt?k=many", SMALL), destination: "small" },
      { ...spec("/file/data.tar.gz?k=many2"), destination: "b.tgz" },
    ];
    const res = await fetchSources(list, o);
    expect(res.map((r) => r.destination)).toEqual(["a.tgz", "small", "b.tgz"]);
    expect(res[0]!.path).toBe(res[2]!.path);
    expect(server.requests.filter((r) => r.url.endsWith("k=many") || r.url.endsWith("k=many2"))).toHaveLength(
      2,
    );
    expect(await expectOnlyVerified(o.cacheDir)).toHaveLength(2);
  });

  it("finishes the good sources and reports every failure", async () => {
    const o = opts({ retries: 0 });
    const err = await fetchSources(
      [
        spec("/file/small.txt?k=partial", SMALL),
        spec("/corrupt/data.tar.gz?k=partial"),
        spec("/nope", Buffer.from("n")),
      ],
      o,
    ).catch((e) => e);
    expect(err.code).toBe("SOURCE_CHECKSUM_MISMATCH");
    expect(err.diagnostics.map((d: { code: string }) => d.code)).toEqual([
      "SOURCE_CHECKSUM_MISMATCH",
      "SOURCE_HTTP_ERROR",
    ]);
    expect(await expectOnlyVerified(o.cacheDir)).toEqual([`sha256/${sha256(SMALL)}`]);
  });
});

describe("proxies and TLS", () => {
  it("sends http requests through HTTP_PROXY unless NO_PROXY matches", async () => {
    const env = { HTTP_PROXY: proxy.url };
    await fetchSource(spec("/file/small.txt?k=proxied", SMALL), opts({ proxyEnv: env }));
    expect(proxy.requests).toContain(`GET ${server.url}/file/small.txt?k=proxied`);
    await fetchSource(
      spec("/file/small.txt?k=direct", SMALL),
      opts({ proxyEnv: { ...env, NO_PROXY: "127.0.0.1" } }),
    );
    expect(proxy.requests.some((r) => r.includes("k=direct"))).toBe(false);
    expect(server.requests.some((r) => r.url === "/file/small.txt?k=direct")).toBe(true);
  });

  describe("over https", () => {
    let tlsServer: SourceServer;
    let plain: SourceServer;
    let ca: string;
    beforeAll(async () => {
      const tls = await makeServerTls(join(work, "tls"));
      ca = await readFile(tls.caFile, "utf8");
      tlsServer = await startSourceServer({
        tls: { cert: await readFile(tls.certFile, "utf8"), key: await readFile(tls.keyFile, "utf8") },
      });
      tlsServer.addFile("small.txt", SMALL);
      plain = await startSourceServer();
      plain.addFile("small.txt", SMALL);
    });
    afterAll(async () => {
      await tlsServer.close();
      await plain.close();
    });

    it("verifies certificates: an untrusted server is SOURCE_TLS_ERROR, a trusted CA works", async () => {
      const o = opts({ retries: 2 });
      const before = tlsServer.requests.length;
      await expect(fetchSource(spec("/file/small.txt", SMALL, tlsServer.url), o)).rejects.toMatchObject({
        code: "SOURCE_TLS_ERROR",
      });
      expect(tlsServer.requests.length).toBe(before);
      expect(await expectOnlyVerified(o.cacheDir)).toEqual([]);
      await expect(
        fetchSource(spec("/file/small.txt", SMALL, tlsServer.url), opts({ ca })),
      ).resolves.toMatchObject({
        fromCache: false,
      });
    });

    it("tunnels https through HTTPS_PROXY with CONNECT", async () => {
      const res = await fetchSource(
        spec("/file/small.txt?k=tunnel", SMALL, tlsServer.url),
        opts({ ca, proxyEnv: { HTTPS_PROXY: proxy.url } }),
      );
      expect(res.fromCache).toBe(false);
      expect(proxy.requests).toContain(`CONNECT 127.0.0.1:${tlsServer.port}`);
      // The proxy saw only the tunnel, never the request path.
      expect(proxy.requests.some((r) => r.includes("k=tunnel"))).toBe(false);
    });

    it("refuses a redirect from https to http, but follows http to http", async () => {
      const target = `${plain.url}/file/small.txt`;
      const o = opts({ ca });
      await expect(
        fetchSource(spec(`/to?url=${encodeURIComponent(target)}`, SMALL, tlsServer.url), o),
      ).rejects.toMatchObject({ code: "SOURCE_INSECURE_REDIRECT" });
      expect(plain.hits("/file/small.txt")).toBe(0);
      expect(await expectOnlyVerified(o.cacheDir)).toEqual([]);
      await expect(
        fetchSource(spec(`/to?url=${encodeURIComponent(target)}`, SMALL, plain.url), opts()),
      ).resolves.toMatchObject({ fromCache: false });
    });
  });
});

describe("cache location", () => {
  it("uses TALOS_EXT_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache", () => {
    expect(defaultCacheDir({ TALOS_EXT_CACHE_DIR: "/c", XDG_CACHE_HOME: "/x" })).toBe("/c");
    expect(defaultCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/talos-ext/sources");
    expect(defaultCacheDir({})).toBe(join(homedir(), ".cache", "talos-ext", "sources"));
    expect(cachePathFor("A".repeat(64), { cacheDir: "/c" })).toBe(`/c/sha256/${"a".repeat(64)}`);
  });
});
