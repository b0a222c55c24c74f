/**
 * Runs a real `docker-registry` (distribution 2.8) on 127.0.0.1 for tests, optionally behind:
 * - a fault-injecting HTTP proxy (5xx/429, connection resets mid-upload, delays) that also logs
 *   every request, so tests can assert what a client sent;
 * - a token server for the Bearer flow: the registry itself is configured with `auth.token` and
 *   verifies the JWTs this server signs, so only the token issuing is ours.
 * See README.md next to this file.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createPrivateKey, randomBytes, randomUUID, sign, X509Certificate } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { makeServerTls, makeSigningCert } from "./tls.ts";

const REGISTRY_BIN = process.env.TALOS_EXT_REGISTRY_BIN ?? "/usr/bin/docker-registry";

export interface Credentials {
  username: string;
  password: string;
}

/** Which requests a fault applies to, counted 1-based among the requests it matches. */
export type Nth = number | number[] | "all" | ((n: number) => boolean);

export interface FaultPlan {
  /** Requests the plan applies to. Default: every request except the `GET /v2/` ping. */
  match?: { method?: string; path?: RegExp };
  /** Answer these matching requests with `status` instead of forwarding them. */
  failNth?: Nth;
  /** Status for `failNth`; default 500. */
  status?: number;
  /** `Retry-After` (seconds) sent with injected failures. */
  retryAfterSeconds?: number;
  /**
   * Cut the connection after forwarding half the body of these blob-upload requests (PUT or
   * PATCH with a body under `/blobs/uploads/`), counted among such requests that match.
   */
  resetMidUpload?: Nth;
  /** Hold matching requests this long before forwarding them (to provoke client timeouts). */
  delayMs?: number;
  /** Which matching requests get `delayMs`; default the first one. */
  delayNth?: Nth;
}

export interface LoggedRequest {
  method: string;
  /** Path and query as received (upload URLs carry registry state, never credentials). */
  url: string;
  status: number;
  /** Whether an Authorization header was sent (its value is never kept). */
  authorized: boolean;
  fault?: "status" | "reset" | "delay";
}

export interface LoggedTokenRequest {
  method: string;
  scopes: string[];
  grantType: string;
  /** "ok", "denied" (bad credentials) or "anonymous". */
  outcome: "ok" | "denied" | "anonymous";
}

export interface TokenAuthOptions extends Credentials {
  /** Accepted as `refresh_token` (docker's identity token) on POST. */
  refreshToken?: string;
  /**
   * How long the registry accepts a token; default 300 s. distribution allows 60 s of clock
   * skew past `exp`, so `exp` is set that much earlier (short lifetimes for refresh tests).
   */
  ttlSeconds?: number;
  /** `expires_in` told to clients, when it should differ from the real lifetime (to test refresh on 401). */
  advertisedExpiresIn?: number;
}

export interface StartRegistryOptions {
  /** Serve HTTPS with a fresh CA (caFile/certDir in the result). */
  tls?: boolean;
  /** Basic auth through the registry's own htpasswd support (bcrypt). */
  htpasswd?: Credentials;
  /** Bearer auth: the registry's `auth.token` plus the harness token server. */
  token?: TokenAuthOptions;
  /** Put the logging/fault proxy in front. Default: on unless `tls` (so TLS tests talk to the registry itself). */
  proxy?: boolean;
  faults?: FaultPlan;
  /**
   * Answer blob GETs that the registry allows with a 307 to a separate "storage" server (as
   * registries backed by S3 do). The storage server reads the registry's files and logs
   * whether an Authorization header reached it. Needs the proxy.
   */
  redirectBlobs?: boolean;
}

export interface LoggedStorageRequest {
  url: string;
  authorized: boolean;
}

export interface RunningRegistry {
  /** `127.0.0.1:<port>` as used in image references (the proxy when there is one). */
  url: string;
  host: string;
  port: number;
  /** `http(s)://127.0.0.1:<port>`. */
  origin: string;
  /** `127.0.0.1:<port>` of the registry process itself. */
  direct: string;
  tls: boolean;
  caFile?: string;
  certDir?: string;
  storageDir: string;
  /** Requests seen by the proxy, in order (empty without a proxy). */
  requests: LoggedRequest[];
  tokenRequests: LoggedTokenRequest[];
  /**
   * Every token the token server issued, kept in memory only so leak tests can assert that
   * none of them shows up in a client's errors or events.
   */
  issuedTokens: string[];
  /** Requests the storage server got (with `redirectBlobs`). */
  storageRequests: LoggedStorageRequest[];
  /** Replaces the fault plan (and its counters); `undefined` stops injecting faults. */
  setFaults(plan?: FaultPlan): void;
  clearLog(): void;
  stop(): Promise<void>;
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  if (!existsSync(REGISTRY_BIN)) {
    throw new Error(
      `${REGISTRY_BIN} not found: the registry tests need Debian's docker-registry package; run tools/bootstrap`,
    );
  }
  const root = await mkdtemp(join(tmpdir(), "talos-ext-registry-"));
  const cleanups: Array<() => Promise<void>> = [async () => rm(root, { recursive: true, force: true })];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const storageDir = join(root, "storage");
    await mkdir(storageDir);
    const useTls = options.tls === true;
    const tlsFiles = useTls ? await makeServerTls(join(root, "tls")) : undefined;
    const ca = tlsFiles ? await readFile(tlsFiles.caFile) : undefined;
    const serverTls = tlsFiles
      ? { cert: await readFile(tlsFiles.certFile), key: await readFile(tlsFiles.keyFile) }
      : undefined;

    const tokenRequests: LoggedTokenRequest[] = [];
    const issuedTokens: string[] = [];
    let authYaml = "";
    if (options.htpasswd && options.token)
      throw new Error("startRegistry: choose htpasswd or token, not both");
    if (options.htpasswd) {
      const file = join(root, "htpasswd");
      const { stdout } = await promisify(execFile)("htpasswd", [
        "-Bbn",
        options.htpasswd.username,
        options.htpasswd.password,
      ]).catch((e: NodeJS.ErrnoException) => {
        throw new Error(
          e.code === "ENOENT" ? "htpasswd is not installed: run tools/bootstrap" : "htpasswd failed",
        );
      });
      await writeFile(file, stdout);
      authYaml = `auth:\n  htpasswd:\n    realm: talos-ext-harness\n    path: ${file}\n`;
    }
    if (options.token) {
      const signing = await makeSigningCert(join(root, "signing"));
      const server = await startTokenServer(options.token, signing, serverTls, tokenRequests, issuedTokens);
      cleanups.push(server.close);
      authYaml =
        "auth:\n  token:\n" +
        `    realm: ${server.realm}\n    service: ${TOKEN_SERVICE}\n    issuer: ${TOKEN_ISSUER}\n` +
        `    rootcertbundle: ${signing.certFile}\n`;
    }

    const child = await spawnRegistry(root, storageDir, tlsFiles, authYaml, ca);
    cleanups.push(() => killChild(child.process));
    const scheme = useTls ? "https" : "http";

    const requests: LoggedRequest[] = [];
    let url = `127.0.0.1:${child.port}`;
    let port = child.port;
    let setFaults: (plan?: FaultPlan) => void = () => {
      throw new Error("startRegistry: faults need the proxy (proxy: true)");
    };
    const storageRequests: LoggedStorageRequest[] = [];
    const wantProxy =
      options.proxy ?? (!useTls || options.faults !== undefined || options.redirectBlobs === true);
    let storageOrigin: string | undefined;
    if (options.redirectBlobs) {
      if (!wantProxy) throw new Error("startRegistry: redirectBlobs needs the proxy");
      const storage = await startStorage(storageDir, serverTls, storageRequests);
      cleanups.push(storage.close);
      storageOrigin = storage.origin;
    }
    if (wantProxy) {
      const proxy = await startProxy(child.port, serverTls, ca, requests, options.faults, storageOrigin);
      cleanups.push(proxy.close);
      url = `127.0.0.1:${proxy.port}`;
      port = proxy.port;
      setFaults = proxy.setFaults;
    } else if (options.faults) {
      throw new Error("startRegistry: faults need the proxy (proxy: true)");
    }

    let stopped = false;
    const running: RunningRegistry = {
      url,
      host: "127.0.0.1",
      port,
      origin: `${scheme}://${url}`,
      direct: `127.0.0.1:${child.port}`,
      tls: useTls,
      storageDir,
      requests,
      tokenRequests,
      issuedTokens,
      storageRequests,
      setFaults,
      clearLog() {
        requests.length = 0;
        tokenRequests.length = 0;
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
      },
    };
    if (tlsFiles) {
      running.caFile = tlsFiles.caFile;
      running.certDir = tlsFiles.certDir;
    }
    return running;
  } catch (e) {
    await stopAll();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// The registry process

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const p = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(p));
    });
  });
}

async function spawnRegistry(
  root: string,
  storageDir: string,
  tlsFiles: { certFile: string; keyFile: string } | undefined,
  authYaml: string,
  ca: Buffer | undefined,
): Promise<{ process: ChildProcess; port: number }> {
  // The port is picked, released, then handed to the registry; a rare clash is retried.
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const config = join(root, "config.yml");
    const yaml =
      "version: 0.1\n" +
      "log:\n  level: error\n  formatter: text\n  accesslog:\n    disabled: true\n" +
      "storage:\n  filesystem:\n" +
      `    rootdirectory: ${storageDir}\n` +
      "  delete:\n    enabled: true\n" +
      "  maintenance:\n    uploadpurging:\n      enabled: false\n" +
      `http:\n  addr: 127.0.0.1:${port}\n  secret: ${randomBytes(16).toString("hex")}\n` +
      (tlsFiles ? `  tls:\n    certificate: ${tlsFiles.certFile}\n    key: ${tlsFiles.keyFile}\n` : "") +
      authYaml;
    await writeFile(config, yaml);
    // REGISTRY_* variables override the config file; none of the caller's may leak in.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("REGISTRY_")));
    const child = spawn(REGISTRY_BIN, ["serve", config], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192);
    });
    let exited = false;
    // A test process that dies without stop() must not leave registries behind.
    const onExit = () => child.kill("SIGKILL");
    process.once("exit", onExit);
    child.once("exit", () => {
      exited = true;
      process.off("exit", onExit);
    });
    const origin = `${tlsFiles ? "https" : "http"}://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !exited) {
      if (await answers(`${origin}/v2/`, ca)) return { process: child, port };
      await sleep(50);
    }
    await killChild(child);
    lastError = new Error(
      `docker-registry did not come up on 127.0.0.1:${port}${exited ? " (it exited)" : ""}: ${stderr.trim()}`,
    );
    if (!/address already in use/i.test(stderr)) break;
  }
  throw lastError ?? new Error("docker-registry did not start");
}

function answers(url: string, ca: Buffer | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const mod = url.startsWith("https:") ? https : http;
    const req = mod.request(url, { method: "GET", ca, agent: false, timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// The fault-injecting, logging proxy

function nthMatches(nth: Nth | undefined, n: number): boolean {
  if (nth === undefined) return false;
  if (nth === "all") return true;
  if (typeof nth === "function") return nth(n);
  return Array.isArray(nth) ? nth.includes(n) : nth === n;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (!addr || typeof addr !== "object") throw new Error("server has no address");
  return addr.port;
}

function closeServer(server: http.Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
}

async function startProxy(
  upstreamPort: number,
  serverTls: { cert: Buffer; key: Buffer } | undefined,
  ca: Buffer | undefined,
  log: LoggedRequest[],
  initial: FaultPlan | undefined,
  storageOrigin: string | undefined,
): Promise<{ port: number; setFaults(plan?: FaultPlan): void; close(): Promise<void> }> {
  let plan = initial;
  let matched = 0;
  let uploads = 0;
  const upstreamMod = serverTls ? https : http;

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    const path = url.split("?")[0] ?? "/";
    const entry: LoggedRequest = {
      method,
      url,
      status: 0,
      authorized: req.headers.authorization !== undefined,
    };
    log.push(entry);

    const p = plan;
    const isMatch =
      p !== undefined &&
      (p.match
        ? (!p.match.method || p.match.method === method) && (!p.match.path || p.match.path.test(path))
        : !(method === "GET" && path === "/v2/"));
    const n = isMatch ? ++matched : 0;
    const isUpload =
      (method === "PUT" || method === "PATCH") &&
      /\/blobs\/uploads\//.test(path) &&
      Number(req.headers["content-length"] ?? "0") > 0;
    const u = isMatch && isUpload ? ++uploads : 0;

    if (p && isMatch && nthMatches(p.failNth, n)) {
      entry.fault = "status";
      entry.status = p.status ?? 500;
      req.resume();
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (p.retryAfterSeconds !== undefined) headers["retry-after"] = String(p.retryAfterSeconds);
      res.writeHead(entry.status, headers);
      res.end(JSON.stringify({ errors: [{ code: "UNKNOWN", message: "injected by the harness" }] }));
      return;
    }
    const reset = p !== undefined && u > 0 && nthMatches(p.resetMidUpload, u);
    const delay = p?.delayMs && isMatch && nthMatches(p.delayNth ?? 1, n) ? p.delayMs : 0;

    const forward = () => {
      if (req.destroyed) return;
      const headers = { ...req.headers };
      const upstream = upstreamMod.request(
        { host: "127.0.0.1", port: upstreamPort, method, path: url, headers, ca, agent: false },
        (up) => {
          const blob = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(path);
          if (storageOrigin && method === "GET" && blob && up.statusCode === 200) {
            // The registry authorised the GET; send the client to storage with a signed-looking URL.
            up.resume();
            entry.status = 307;
            const sig = randomBytes(8).toString("hex");
            res.writeHead(307, {
              location: `${storageOrigin}/blobs/${blob[1]}?X-Signature=${sig}`,
              "content-length": "0",
            });
            res.end();
            return;
          }
          entry.status = up.statusCode ?? 0;
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", () => {
        if (!res.headersSent) {
          entry.status = 502;
          res.writeHead(502);
        }
        res.destroy();
      });
      // The client went away (timeout, reset): stop the upstream request too.
      res.on("close", () => {
        if (!res.writableFinished) upstream.destroy();
      });
      if (!reset) {
        req.pipe(upstream);
        return;
      }
      entry.fault = "reset";
      const limit = Math.max(1, Math.floor(Number(req.headers["content-length"]) / 2));
      let seen = 0;
      req.on("data", (chunk: Buffer) => {
        if (seen >= limit) return;
        const take = chunk.subarray(0, limit - seen);
        seen += take.length;
        upstream.write(take);
        if (seen >= limit) {
          upstream.destroy();
          req.socket.destroy();
        }
      });
    };
    if (delay > 0) {
      entry.fault = "delay";
      setTimeout(forward, delay);
    } else {
      forward();
    }
  };

  const server = serverTls ? https.createServer({ ...serverTls }, handler) : http.createServer(handler);
  const port = await listen(server);
  return {
    port,
    setFaults(next) {
      plan = next;
      matched = 0;
      uploads = 0;
    },
    close: closeServer(server),
  };
}

// ---------------------------------------------------------------------------------------------
// The "storage" server blob GETs are redirected to

async function startStorage(
  storageDir: string,
  serverTls: { cert: Buffer; key: Buffer } | undefined,
  log: LoggedStorageRequest[],
): Promise<{ origin: string; close(): Promise<void> }> {
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = req.url ?? "/";
    log.push({ url: url.split("?")[0] ?? url, authorized: req.headers.authorization !== undefined });
    const m = /^\/blobs\/sha256:([a-f0-9]{64})(?:\?|$)/.exec(url);
    if (req.method !== "GET" || !m) {
      res.writeHead(404);
      res.end();
      return;
    }
    const hex = m[1]!;
    const file = join(storageDir, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
    readFile(file).then(
      (data) => {
        res.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-length": String(data.length),
        });
        res.end(data);
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  };
  const server = serverTls ? https.createServer({ ...serverTls }, handler) : http.createServer(handler);
  const port = await listen(server);
  return { origin: `${serverTls ? "https" : "http"}://127.0.0.1:${port}`, close: closeServer(server) };
}

// ---------------------------------------------------------------------------------------------
// The token server (Bearer flow)

const TOKEN_SERVICE = "talos-ext-harness-registry";
const TOKEN_ISSUER = "talos-ext-harness-issuer";
/** distribution 2.8 accepts tokens this long past `exp` (and before `nbf`). */
const REGISTRY_LEEWAY_SECONDS = 60;

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

async function startTokenServer(
  opts: TokenAuthOptions,
  signing: { certFile: string; keyFile: string },
  serverTls: { cert: Buffer; key: Buffer } | undefined,
  log: LoggedTokenRequest[],
  issued: string[],
): Promise<{ realm: string; close(): Promise<void> }> {
  const key = createPrivateKey(await readFile(signing.keyFile));
  const certDer = new X509Certificate(await readFile(signing.certFile)).raw;

  const issue = (account: string, scopes: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((s) => {
      // repository:<name>:<actions>; names may contain ':' only before the port of a host.
      const m = /^repository:(.+):([a-z*,]+)$/.exec(s);
      return m ? [{ type: "repository", name: m[1], actions: m[2]!.split(",") }] : [];
    });
    const header = { typ: "JWT", alg: "ES256", x5c: [certDer.toString("base64")] };
    const claims = {
      iss: TOKEN_ISSUER,
      sub: account,
      aud: TOKEN_SERVICE,
      exp: now + (opts.ttlSeconds ?? 300) - REGISTRY_LEEWAY_SECONDS,
      nbf: now - REGISTRY_LEEWAY_SECONDS - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
    const jwt = `${input}.${b64url(sig)}`;
    issued.push(jwt);
    return jwt;
  };

  const basicOk = (header: string | undefined): boolean | undefined => {
    if (!header) return undefined;
    const m = /^Basic\s+(.+)$/i.exec(header);
    if (!m) return false;
    const decoded = Buffer.from(m[1]!, "base64").toString();
    return decoded === `${opts.username}:${opts.password}`;
  };

  const reply = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? "/", "http://x");
    if (u.pathname !== "/token") return reply(res, 404, { error: "not found" });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const ttl = opts.advertisedExpiresIn ?? opts.ttlSeconds ?? 300;
      if (req.method === "GET") {
        const scopes = u.searchParams.getAll("scope").flatMap((s) => s.split(" ").filter(Boolean));
        const ok = basicOk(req.headers.authorization);
        if (ok === false) {
          log.push({ method: "GET", scopes, grantType: "basic", outcome: "denied" });
          return reply(res, 401, { errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] });
        }
        log.push({ method: "GET", scopes, grantType: "basic", outcome: ok ? "ok" : "anonymous" });
        // Anonymous callers get a token with no access, as public registries do for private repos.
        const token = issue(ok ? opts.username : "", ok ? scopes : []);
        return reply(res, 200, { token, expires_in: ttl, issued_at: new Date().toISOString() });
      }
      if (req.method === "POST") {
        const form = new URLSearchParams(Buffer.concat(chunks).toString());
        const grantType = form.get("grant_type") ?? "";
        const scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
        const ok =
          (grantType === "password" &&
            form.get("username") === opts.username &&
            form.get("password") === opts.password) ||
          (grantType === "refresh_token" &&
            opts.refreshToken !== undefined &&
            form.get("refresh_token") === opts.refreshToken);
        log.push({ method: "POST", scopes, grantType, outcome: ok ? "ok" : "denied" });
        if (!ok) return reply(res, 401, { error: "invalid_grant" });
        const body: Record<string, unknown> = {
          access_token: issue(opts.username, scopes),
          expires_in: ttl,
          issued_at: new Date().toISOString(),
        };
        if (opts.refreshToken && form.get("access_type") === "offline")
          body.refresh_token = opts.refreshToken;
        return reply(res, 200, body);
      }
      reply(res, 405, { error: "method not allowed" });
    });
  };
  const server = serverTls ? https.createServer({ ...serverTls }, handler) : http.createServer(handler);
  const port = await listen(server);
  return { realm: `${serverTls ? "https" : "http"}://127.0.0.1:${port}/token`, close: closeServer(server) };
}
