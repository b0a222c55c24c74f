import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRegistry, startRegistry } from "../../../../tools/harness/registry.ts";
import { writeLayout } from "../../test/layouts.ts";
import {
  configKeyToRegistry,
  type ProgressEvent,
  parseChallenges,
  pullLayout,
  pushLayout,
  RegistryClient,
} from "./index.ts";

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const USER = "builder";
const PASSWORD = "s3cret-Pa55word-never-printed";
const REFRESH = "identity-refresh-token-never-printed";

let work: string;
let binDir: string;
const savedPath = process.env.PATH;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "talos-ext-auth-"));
  binDir = join(work, "bin");
  await mkdir(binDir);
  // A credential helper speaking docker's protocol: server URL on stdin, JSON on stdout.
  // It answers from a JSON file keyed by server URL and records what it was asked.
  const helper = `#!/bin/sh
[ "$1" = get ] || exit 1
read -r server
printf '%s\\n' "$server" >> "${join(work, "helper-asked.txt")}"
node -e '
const db = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const e = db[process.argv[2]];
if (!e) { process.stdout.write("credentials not found in native keychain"); process.exit(1); }
process.stdout.write(JSON.stringify({ ServerURL: process.argv[2], Username: e.u, Secret: e.s }));
' "${join(work, "helper-db.json")}" "$server"
`;
  await writeFile(join(binDir, "docker-credential-test"), helper);
  await chmod(join(binDir, "docker-credential-test"), 0o755);
  process.env.PATH = `${binDir}${delimiter}${process.env.PATH}`;
});
afterAll(async () => {
  process.env.PATH = savedPath;
  if (work) await rm(work, { recursive: true, force: true });
});

async function dockerConfig(name: string, config: object): Promise<string> {
  const file = join(work, `${name}.json`);
  await writeFile(file, JSON.stringify(config));
  return file;
}

const base = { insecure: true, retryDelayMs: 20, dockerConfig: "/nonexistent/config.json" };

/** Everything a caller could see of a failure, as one string. */
function exposed(err: unknown, events: ProgressEvent[]): string {
  const parts: string[] = [JSON.stringify(events)];
  let e: unknown = err;
  while (e) {
    const x = e as Error & { hint?: string; diagnostics?: unknown };
    parts.push(
      String(x),
      x.message ?? "",
      x.stack ?? "",
      x.hint ?? "",
      JSON.stringify(x.diagnostics ?? null),
    );
    parts.push(JSON.stringify(x, Object.getOwnPropertyNames(x)));
    e = x.cause;
  }
  return parts.join("\n");
}

describe("WWW-Authenticate and config keys", () => {
  it("parses Basic and Bearer challenges, quoted commas and several challenges", () => {
    expect(parseChallenges('Basic realm="talos"')).toEqual([{ scheme: "basic", params: { realm: "talos" } }]);
    expect(
      parseChallenges(
        'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push repository:c:pull"',
      ),
    ).toEqual([
      {
        scheme: "bearer",
        params: {
          realm: "https://auth.example/token",
          service: "reg",
          scope: "repository:a/b:pull,push repository:c:pull",
        },
      },
    ]);
    expect(parseChallenges('Basic realm="a", Bearer realm="https://t/x",error="invalid_token"')).toEqual([
      { scheme: "basic", params: { realm: "a" } },
      { scheme: "bearer", params: { realm: "https://t/x", error: "invalid_token" } },
    ]);
    expect(parseChallenges("Bearer realm=https://t/token, service=svc")).toEqual([
      { scheme: "bearer", params: { realm: "https://t/token", service: "svc" } },
    ]);
    expect(parseChallenges("")).toEqual([]);
  });

  it("parses any serialised list of challenges back (property)", () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,8}$/);
    const challenge = fc.record({
      scheme: name,
      params: fc.dictionary(
        name.map((k) => k.toLowerCase()),
        fc.string({ maxLength: 20 }),
        { maxKeys: 4 },
      ),
    });
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 3 }), (list) => {
        const wire = list
          .map((c) => {
            const params = Object.entries(c.params).map(
              ([k, v]) => `${k}="${v.replace(/["\\]/g, (m) => `\\${m}`)}"`,
            );
            return params.length ? `${c.scheme} ${params.join(", ")}` : c.scheme;
          })
          .join(", ");
        expect(parseChallenges(wire)).toEqual(
          list.map((c) => ({ scheme: c.scheme.toLowerCase(), params: c.params })),
        );
      }),
    );
  });

  it("matches docker config keys the way docker does", () => {
    expect(configKeyToRegistry("https://index.docker.io/v1/")).toBe("docker.io");
    expect(configKeyToRegistry("registry-1.docker.io")).toBe("docker.io");
    expect(configKeyToRegistry("https://127.0.0.1:5000/v2/")).toBe("127.0.0.1:5000");
    expect(configKeyToRegistry("Ghcr.IO")).toBe("ghcr.io");
  });
});

describe("Basic auth (registry htpasswd)", () => {
  let reg: RunningRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ htpasswd: { username: USER, password: PASSWORD }, redirectBlobs: true });
  });
  afterAll(async () => reg?.stop());

  it("pushes with explicit credentials after the anonymous ping", async () => {
    const src = await writeLayout(join(work, "basic-ok"));
    reg.clearLog();
    const pushed = await pushLayout(src.dir, `${reg.url}/talos/basic:v1`, {
      ...base,
      credentials: { [reg.url]: { username: USER, password: PASSWORD } },
    });
    expect(pushed.digest).toBe(src.digest);
    expect(reg.requests[0]).toMatchObject({ url: "/v2/", status: 401, authorized: false });
    expect(reg.requests.slice(1).every((r) => r.authorized && r.status !== 401)).toBe(true);
  });

  it("follows blob redirects to storage without sending credentials there", async () => {
    const src = await writeLayout(join(work, "redirect"));
    const creds = { credentials: { [reg.url]: { username: USER, password: PASSWORD } } };
    await pushLayout(src.dir, `${reg.url}/talos/redirect:v1`, { ...base, ...creds });
    reg.clearLog();
    reg.storageRequests.length = 0;
    const out = join(work, "redirect-pulled");
    const pulled = await pullLayout(`${reg.url}/talos/redirect:v1`, out, { ...base, ...creds });
    expect(pulled.digest).toBe(src.digest);
    expect(reg.requests.filter((r) => r.status === 307)).toHaveLength(src.blobs.length);
    expect(reg.storageRequests).toHaveLength(src.blobs.length);
    expect(reg.storageRequests.every((r) => !r.authorized)).toBe(true);
  });

  it("without credentials fails with REGISTRY_AUTH and a hint", async () => {
    const client = new RegistryClient(base);
    const err = await client.blobExists(`${reg.url}/talos/basic`, sha256(Buffer.from("x"))).catch((e) => e);
    expect(err).toMatchObject({ code: "REGISTRY_AUTH" });
    expect(err.message).toContain("no credentials");
    expect(err.hint).toContain("docker login");
  });

  it("a wrong password fails with REGISTRY_AUTH, names the source, never the password", async () => {
    const src = await writeLayout(join(work, "basic-bad"));
    const wrong = "definitely-Wrong-pw";
    const events: ProgressEvent[] = [];
    const err = await pushLayout(src.dir, `${reg.url}/talos/basic:bad`, {
      ...base,
      credentials: { [reg.url]: { username: USER, password: wrong } },
      onProgress: (e) => events.push(e),
    }).catch((e) => e);
    expect(err).toMatchObject({ code: "REGISTRY_AUTH" });
    expect(err.message).toContain("the credentials option");
    expect(err.hint).toMatch(/password/);
    const seen = exposed(err, events);
    expect(seen).not.toContain(wrong);
    expect(seen).not.toContain(Buffer.from(`${USER}:${wrong}`).toString("base64"));
  });

  it("reads auths from docker's config.json (auth and username/password forms)", async () => {
    for (const entry of [
      { auth: Buffer.from(`${USER}:${PASSWORD}`).toString("base64") },
      { username: USER, password: PASSWORD },
    ]) {
      const file = await dockerConfig("auths", { auths: { [`http://${reg.url}/v2/`]: entry } });
      const client = new RegistryClient({ ...base, dockerConfig: file });
      expect(await client.blobExists(`${reg.url}/talos/basic`, sha256(Buffer.from("nope")))).toBe(false);
    }
  });

  it("runs docker-credential-<helper> get from credHelpers and credsStore", async () => {
    await writeFile(join(work, "helper-db.json"), JSON.stringify({ [reg.url]: { u: USER, s: PASSWORD } }));
    await rm(join(work, "helper-asked.txt"), { force: true });
    for (const config of [
      { credHelpers: { [reg.url]: "test" } },
      { credsStore: "test", auths: { [reg.url]: {} } },
    ]) {
      const file = await dockerConfig("helpers", config);
      const src = await writeLayout(join(work, `helper-${Object.keys(config)[0]}`));
      const pushed = await pushLayout(src.dir, `${reg.url}/talos/helper:v1`, { ...base, dockerConfig: file });
      expect(pushed.digest).toBe(src.digest);
    }
    expect((await readFile(join(work, "helper-asked.txt"), "utf8")).trim().split("\n")).toEqual([
      reg.url,
      reg.url,
    ]);
  });

  it("reports a configured helper that is not installed", async () => {
    const file = await dockerConfig("missing-helper", { credsStore: "absent-helper" });
    const client = new RegistryClient({ ...base, dockerConfig: file });
    const err = await client.blobExists(`${reg.url}/talos/basic`, sha256(Buffer.from("x"))).catch((e) => e);
    expect(err).toMatchObject({ code: "REGISTRY_AUTH" });
    expect(err.message).toContain("docker-credential-absent-helper is not on PATH");
  });

  it("rejects a broken config.json with REGISTRY_CONFIG and its path", async () => {
    const file = join(work, "broken.json");
    await writeFile(file, "{ not json");
    const client = new RegistryClient({ ...base, dockerConfig: file });
    const err = await client.blobExists(`${reg.url}/talos/basic`, sha256(Buffer.from("x"))).catch((e) => e);
    expect(err).toMatchObject({ code: "REGISTRY_CONFIG", location: { file } });
  });
});

describe("Bearer token auth (registry auth.token + harness token server)", () => {
  let reg: RunningRegistry;
  beforeAll(async () => {
    reg = await startRegistry({
      token: {
        username: USER,
        password: PASSWORD,
        refreshToken: REFRESH,
        ttlSeconds: 2,
        advertisedExpiresIn: 300,
      },
    });
  });
  afterAll(async () => reg?.stop());

  it("gets a token with basic credentials for repository:<name>:pull,push and pushes", async () => {
    const src = await writeLayout(join(work, "bearer-ok"));
    reg.clearLog();
    const pushed = await pushLayout(src.dir, `${reg.url}/talos/bearer:v1`, {
      ...base,
      credentials: { [reg.url]: { username: USER, password: PASSWORD } },
    });
    expect(pushed.digest).toBe(src.digest);
    expect(reg.tokenRequests.length).toBeGreaterThanOrEqual(1);
    expect(reg.tokenRequests.every((t) => t.outcome === "ok")).toBe(true);
    expect(reg.tokenRequests.map((t) => t.scopes)).toContainEqual(["repository:talos/bearer:pull,push"]);
  });

  it("asks for pull on the source repository when mounting", async () => {
    const creds = { credentials: { [reg.url]: { username: USER, password: PASSWORD } } };
    const src = await writeLayout(join(work, "bearer-mount"));
    await pushLayout(src.dir, `${reg.url}/talos/bearer-src:v1`, { ...base, ...creds });
    reg.clearLog();
    const pushed = await pushLayout(src.dir, `${reg.url}/talos/bearer-dst:v1`, {
      ...base,
      ...creds,
      mountFrom: "talos/bearer-src",
    });
    expect(pushed.mountedBlobs).toBe(3);
    expect(reg.tokenRequests.map((t) => t.scopes)).toContainEqual([
      "repository:talos/bearer-dst:pull,push",
      "repository:talos/bearer-src:pull",
    ]);
  });

  it("uses an identity token from a credential helper (<token> user) with the OAuth2 refresh flow", async () => {
    await writeFile(
      join(work, "helper-db.json"),
      JSON.stringify({ [reg.url]: { u: "<token>", s: REFRESH } }),
    );
    const file = await dockerConfig("identity", { credHelpers: { [reg.url]: "test" } });
    const src = await writeLayout(join(work, "bearer-identity"));
    reg.clearLog();
    const pushed = await pushLayout(src.dir, `${reg.url}/talos/identity:v1`, { ...base, dockerConfig: file });
    expect(pushed.digest).toBe(src.digest);
    expect(reg.tokenRequests).toContainEqual(
      expect.objectContaining({ method: "POST", grantType: "refresh_token", outcome: "ok" }),
    );
  });

  it("fetches a new token when the registry refuses an expired one", async () => {
    const client = new RegistryClient({
      ...base,
      credentials: { [reg.url]: { username: USER, password: PASSWORD } },
    });
    const repo = `${reg.url}/talos/refresh`;
    const a = Buffer.from("first blob");
    expect(await client.pushBlob(repo, { digest: sha256(a), size: a.length }, () => a)).toBe("uploaded");
    const before = reg.tokenRequests.length;
    // The token server told us 300 s, but the registry stops accepting the token after 2 s.
    await new Promise((r) => setTimeout(r, 2500));
    const b = Buffer.from("second blob");
    expect(await client.pushBlob(repo, { digest: sha256(b), size: b.length }, () => b)).toBe("uploaded");
    expect(reg.tokenRequests.length).toBe(before + 1);
    client.close();
  });

  it("wrong password: REGISTRY_AUTH from the token server", async () => {
    const client = new RegistryClient({
      ...base,
      credentials: { [reg.url]: { username: USER, password: "nope-wrong" } },
    });
    const err = await client.blobExists(`${reg.url}/talos/bearer`, sha256(Buffer.from("x"))).catch((e) => e);
    expect(err).toMatchObject({ code: "REGISTRY_AUTH" });
    expect(err.message).toContain("token server");
    expect(exposed(err, [])).not.toContain("nope-wrong");
  });

  it("a failing authenticated push never exposes the password or any token", async () => {
    const src = await writeLayout(join(work, "bearer-leak"));
    reg.setFaults({ match: { method: "PUT" }, failNth: "all", status: 503 });
    const events: ProgressEvent[] = [];
    try {
      const err = await pushLayout(src.dir, `${reg.url}/talos/leak:v1`, {
        ...base,
        retries: 2,
        credentials: { [reg.url]: { username: USER, password: PASSWORD } },
        onProgress: (e) => events.push(e),
      }).catch((e) => e);
      expect(err).toMatchObject({ code: "REGISTRY_HTTP" });
      expect(events.some((e) => e.type === "retry")).toBe(true);
      expect(reg.issuedTokens.length).toBeGreaterThan(0);
      const seen = exposed(err, events);
      expect(seen).not.toContain(PASSWORD);
      expect(seen).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString("base64"));
      for (const t of reg.issuedTokens) {
        expect(seen).not.toContain(t);
        expect(seen).not.toContain(t.split(".")[2]);
      }
      expect(seen).not.toMatch(/Bearer\s+ey/);
    } finally {
      reg.setFaults(undefined);
    }
  });
});
