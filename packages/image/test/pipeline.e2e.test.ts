/**
 * The whole pipeline against real components: docker engine (BuildKit), a real registry, a real
 * HTTP source server, and skopeo as an independent reader. buildctl cannot run here; its test
 * double (tools/doubles/buildctl) runs the same request on the docker engine.
 */
import { execFile, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type DockerEngine, startDockerEngine } from "../../../tools/harness/docker.ts";
import { type RunningRegistry, startRegistry } from "../../../tools/harness/registry.ts";
import { type SourceServer, startSourceServer } from "../../../tools/harness/source-server.ts";
import { build } from "../src/build/build.ts";
import { inspectLayout } from "../src/inspect/inspect.ts";
import { writeOciLayout } from "../src/oci/index.ts";
import { parseMirror } from "../src/plan/mirrors.ts";
import { pullLayout, pushLayout } from "../src/registry/index.ts";
import { PKGFILE, type TempDir, writeTree } from "./tree.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const EXTENSIONS = resolve(HERE, "../../../extensions");
const BUILDCTL = resolve(HERE, "../../../tools/doubles/buildctl");
const TOOLCHAIN = [parseMirror("ghcr.io/talos-ext-playground=talos-ext.local")];
const PAYLOAD = "#!/bin/sh\necho payload\n";
const OTHER = "#!/bin/sh\necho other\n";
const run = promisify(execFile);
const sha = (algo: string, data: string) => createHash(algo).update(data).digest("hex");

let engine: DockerEngine;
let registry: RunningRegistry;
let server: SourceServer;
let work: string;
let env: NodeJS.ProcessEnv;
let tree: TempDir;

function manifest(name: string): string {
  return `version: v1alpha1\nmetadata:\n  name: ${name}\n  version: "1.0.0"\n  compatibility:\n    talos:\n      version: ">= v1.10.0"\n`;
}

function fetcher(name: string, url: string, sha256: string, sha512: string): string {
  return [
    `name: ${name}`,
    "variant: scratch",
    "shell: /bin/bash",
    "dependencies:",
    "  - image: ghcr.io/talos-ext-playground/toolchain:bookworm",
    "steps:",
    "  - sources:",
    `      - url: ${url}`,
    "        destination: payload.sh",
    `        sha256: ${sha256}`,
    `        sha512: ${sha512}`,
    "    install:",
    "      - install -D -m 0755 payload.sh /rootfs/usr/local/bin/payload",
    "finalize:",
    "  - from: /rootfs",
    "    to: /rootfs",
    "  - from: /pkg/manifest.yaml",
    "    to: /",
  ].join("\n");
}

beforeAll(async () => {
  engine = await startDockerEngine();
  env = { ...process.env, DOCKER_HOST: engine.host };
  registry = await startRegistry();
  server = await startSourceServer();
  server.addFile("payload.sh", PAYLOAD);
  server.addFile("other.sh", OTHER);
  work = await mkdtemp(join(tmpdir(), "talos-ext-pipeline-"));
  const s256 = sha("sha256", PAYLOAD);
  const s512 = sha("sha512", PAYLOAD);
  tree = await writeTree({
    Pkgfile: PKGFILE,
    "good/pkg.yaml": fetcher("good", `${server.url}/file/payload.sh`, s256, s512),
    "good/manifest.yaml.tmpl": manifest("good"),
    "corrupt/pkg.yaml": fetcher(
      "corrupt",
      `${server.url}/corrupt/other.sh`,
      sha("sha256", OTHER),
      sha("sha512", OTHER),
    ),
    "corrupt/manifest.yaml.tmpl": manifest("corrupt"),
    "missing/pkg.yaml": fetcher(
      "missing",
      `${server.url}/file/never-cached.sh`,
      "c".repeat(64),
      "d".repeat(128),
    ),
    "missing/manifest.yaml.tmpl": manifest("missing"),
    "imgdep/pkg.yaml": [
      "name: imgdep",
      "variant: scratch",
      "dependencies:",
      "  - image: mirror.invalid/base/files:v1",
      "    from: /payload",
      "    to: /rootfs/usr/local/share/payload",
      "finalize:",
      "  - from: /rootfs",
      "    to: /rootfs",
      "  - from: /pkg/manifest.yaml",
      "    to: /",
    ].join("\n"),
    "imgdep/manifest.yaml.tmpl": manifest("imgdep"),
  });
}, 600_000);

afterAll(async () => {
  await tree?.cleanup();
  await server?.close();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
  await engine?.stop();
});

const cacheDir = () => join(work, "cache");

describe("sources are verified on the host before anything runs", () => {
  test("a good source is fetched, cached by checksum and built in", async () => {
    const out = join(work, "good");
    await build({
      root: tree.root,
      target: "good",
      platforms: ["linux/amd64"],
      mirrors: TOOLCHAIN,
      env,
      outDir: out,
      sources: { cacheDir: cacheDir() },
    });
    expect(existsSync(join(cacheDir(), "sha256", sha("sha256", PAYLOAD)))).toBe(true);
    const info = await inspectLayout(out);
    expect(info.images[0]!.extension?.manifest?.metadata.name).toBe("good");
    expect(info.images[0]!.extension?.ok).toBe(true);
  });

  test("a checksum mismatch fails before any build step; the cache is untouched", async () => {
    const log = join(work, "buildctl.log");
    const before = readdirSync(cacheDir(), { recursive: true }).sort();
    await expect(
      build({
        root: tree.root,
        target: "corrupt",
        platforms: ["linux/amd64"],
        engine: "buildctl",
        mirrors: TOOLCHAIN,
        env: { ...env, TALOS_EXT_BUILDCTL: BUILDCTL, TALOS_EXT_BUILDCTL_LOG: log },
        outDir: join(work, "corrupt"),
        sources: { cacheDir: cacheDir() },
      }),
    ).rejects.toMatchObject({ code: "SOURCE_CHECKSUM_MISMATCH" });
    expect(readdirSync(cacheDir(), { recursive: true }).sort()).toEqual(before);
    const calls = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l)[0]);
    expect(calls).not.toContain("build");
    expect(existsSync(join(work, "corrupt"))).toBe(false);
  });

  test("offline with the source missing names the URL, both checksums and where to put the file", async () => {
    const err = await build({
      root: tree.root,
      target: "missing",
      platforms: ["linux/amd64"],
      mirrors: TOOLCHAIN,
      env,
      offline: true,
      outDir: join(work, "missing"),
      sources: { cacheDir: cacheDir() },
    }).catch((e) => e);
    expect(err.code).toBe("SOURCE_OFFLINE_MISSING");
    expect(err.message).toContain(`${server.url}/file/never-cached.sh`);
    expect(err.message).toContain("c".repeat(64));
    expect(err.message).toContain("d".repeat(128));
    expect(err.hint).toContain(join(cacheDir(), "sha256", "c".repeat(64)));
    expect(server.hits("/file/never-cached.sh")).toBe(0);
  });
});

describe("engines give the same bytes", () => {
  test("buildctl (test double) and docker build hello-service to the same digest", async () => {
    const common = {
      root: EXTENSIONS,
      target: "hello-service",
      platforms: ["linux/amd64" as const],
      mirrors: TOOLCHAIN,
    };
    const viaDocker = await build({ ...common, engine: "docker", env, outDir: join(work, "hello-docker") });
    const log = join(work, "buildctl-hello.log");
    const viaBuildctl = await build({
      ...common,
      engine: "buildctl",
      env: { ...env, TALOS_EXT_BUILDCTL: BUILDCTL, TALOS_EXT_BUILDCTL_LOG: log },
      outDir: join(work, "hello-buildctl"),
    });
    expect(viaBuildctl.platforms[0]!.engine).toContain("buildctl");
    expect(viaBuildctl.digest).toBe(viaDocker.digest);
    const buildCall = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .find((a) => a[0] === "build");
    expect(buildCall).toEqual(
      expect.arrayContaining(["--frontend", "dockerfile.v0", "--opt", "target=pkg-hello-service-final"]),
    );
  });

  test("the no-engine path and the docker engine give the same digest", async () => {
    const common = { root: EXTENSIONS, target: "usb-serial-rules", platforms: ["linux/amd64" as const] };
    const native = await build({ ...common, env, outDir: join(work, "rules-native") });
    const docker = await build({ ...common, engine: "docker", env, outDir: join(work, "rules-docker") });
    expect(native.platforms[0]!.engine).toBe("native (no engine)");
    expect(docker.platforms[0]!.engine).toMatch(/docker/);
    expect(docker.digest).toBe(native.digest);
  });
});

describe("registry round trip", () => {
  test("push after build; skopeo sees our digest; pull gives it back", async () => {
    const layout = join(work, "rules-native");
    const ref = `${registry.url}/ext/usb-serial-rules:1.0.0`;
    const pushed = await pushLayout(layout, ref, { insecure: true });
    // Async: the registry harness may proxy in this process, so a blocking spawn would deadlock.
    const raw = await run("skopeo", ["inspect", "--tls-verify=false", "--raw", `docker://${ref}`]);
    expect(`sha256:${createHash("sha256").update(raw.stdout).digest("hex")}`).toBe(pushed.digest);
    const back = join(work, "pulled");
    const pulled = await pullLayout(ref, back, { insecure: true });
    expect(pulled.digest).toBe(pushed.digest);
    expect((await inspectLayout(back)).images[0]!.extension?.manifest?.metadata.name).toBe(
      "usb-serial-rules",
    );
  });

  test("the no-engine path pulls image dependencies through the mirror map", async () => {
    const base = join(work, "base-rootfs");
    await mkdir(join(base, "payload"), { recursive: true });
    await writeFile(join(base, "payload", "hello.txt"), "from the registry\n");
    await writeOciLayout(join(work, "base-layout"), [{ platform: "linux/amd64", layers: [base] }], {
      sourceDateEpoch: 0,
      refName: "v1",
    });
    await pushLayout(join(work, "base-layout"), `${registry.url}/base/files:v1`, { insecure: true });

    const out = join(work, "imgdep");
    const result = await build({
      root: tree.root,
      target: "imgdep",
      platforms: ["linux/amd64"],
      mirrors: [parseMirror(`mirror.invalid=${registry.url}`)],
      env: { ...process.env, PATH: "/nonexistent", DOCKER_HOST: "unix:///nonexistent.sock" },
      outDir: out,
      pullImage: async (ref, dir) => {
        await pullLayout(ref, dir, { insecure: true });
      },
    });
    expect(result.platforms[0]!.engine).toBe("native (no engine)");
    const bundle = join(work, "imgdep-bundle");
    const r = spawnSync("umoci", ["unpack", "--rootless", "--image", `${out}:latest`, bundle], {
      encoding: "utf8",
    });
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(bundle, "rootfs/rootfs/usr/local/share/payload/hello.txt"), "utf8")).toBe(
      "from the registry\n",
    );
  });
});
