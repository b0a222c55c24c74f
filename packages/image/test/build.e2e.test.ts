/**
 * End-to-end builds with real components: Debian's docker engine (BuildKit), real files, real
 * OCI layouts read back by umoci and skopeo. The toolchain image comes from Debian packages.
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { validateExtension } from "@talos-ext/spec";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type DockerEngine, startDockerEngine } from "../../../tools/harness/docker.ts";
import { build } from "../src/build/build.ts";
import { detectEngine } from "../src/engine/engine.ts";
import { parseMirror } from "../src/plan/mirrors.ts";
import { PKGFILE, type TempDir, writeTree } from "./tree.ts";

const EXTENSIONS = resolve(fileURLToPath(new URL("../../../extensions", import.meta.url)));
const MIRROR = [parseMirror("ghcr.io/talos-ext-playground=talos-ext.local")];

let engine: DockerEngine;
let work: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  engine = await startDockerEngine();
  env = { ...process.env, DOCKER_HOST: engine.host };
  work = await mkdtemp(join(tmpdir(), "talos-ext-e2e-"));
}, 600_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  await engine?.stop();
});

function sh(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

describe("no-engine path", () => {
  test("usb-serial-rules builds without docker, byte-identical every time, for two platforms", async () => {
    const noDocker = { ...process.env, PATH: "/nonexistent", DOCKER_HOST: "unix:///nonexistent.sock" };
    const opts = {
      root: EXTENSIONS,
      target: "usb-serial-rules",
      platforms: ["linux/amd64", "linux/arm64"] as const,
      env: noDocker,
    };
    const a = await build({ ...opts, platforms: [...opts.platforms], outDir: join(work, "rules-a") });
    const b = await build({ ...opts, platforms: [...opts.platforms], outDir: join(work, "rules-b") });
    expect(a.digest).toBe(b.digest);
    expect(a.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(a.platforms.map((p) => p.engine)).toEqual(["native (no engine)", "native (no engine)"]);
    expect(await readFile(join(work, "rules-a/index.json"), "utf8")).toBe(
      await readFile(join(work, "rules-b/index.json"), "utf8"),
    );

    // Independent readers agree: skopeo sees the index, umoci unpacks the right files.
    const inspect = JSON.parse(sh("skopeo", ["inspect", "--raw", `oci:${join(work, "rules-a")}:latest`]));
    expect(
      inspect.manifests.map((m: { platform: { architecture: string } }) => m.platform.architecture),
    ).toEqual(["amd64", "arm64"]);
    const report = await validateExtension(join(work, "rules-a"), {
      platform: "linux/arm64",
      pkgName: "usb-serial-rules",
    });
    expect(report.ok).toBe(true);
    expect(report.manifest?.metadata.name).toBe("usb-serial-rules");
  });
});

describe("docker engine (BuildKit)", () => {
  test("detects Debian's docker CLI with the engine's built-in BuildKit", () => {
    const e = detectEngine("auto", env);
    expect(["docker", "buildx"]).toContain(e.kind);
  });

  test("hello-service compiles C in a container and gives the same digest on rebuild", async () => {
    const opts = {
      root: EXTENSIONS,
      target: "hello-service",
      platforms: ["linux/amd64" as const],
      mirrors: MIRROR,
      env,
    };
    const first = await build({ ...opts, outDir: join(work, "hello-a") });
    const again = await build({ ...opts, outDir: join(work, "hello-b") });
    expect(again.digest).toBe(first.digest);
    expect(first.platforms[0]!.engine).toMatch(/docker|buildx/);

    const bundle = join(work, "hello-bundle");
    sh("umoci", ["unpack", "--rootless", "--image", `${join(work, "hello-a")}:latest`, bundle]);
    const bin = join(bundle, "rootfs/rootfs/usr/local/lib/containers/hello-service/hello-service");
    expect(sh(bin, ["--version"]).trim()).toBe("hello-service 1.0.0");
    const spec = await readFile(
      join(bundle, "rootfs/rootfs/usr/local/etc/containers/hello-service.yaml"),
      "utf8",
    );
    expect(spec).toContain("entrypoint: /hello-service");
  });

  test("a failing step is reported as <package>:<phase>-<step> with its command and output", async () => {
    const tree: TempDir = await writeTree({
      Pkgfile: PKGFILE,
      "broken/pkg.yaml": [
        "name: broken",
        "variant: scratch",
        "shell: /bin/bash",
        "dependencies:",
        "  - image: ghcr.io/talos-ext-playground/toolchain:bookworm",
        "steps:",
        "  - build:",
        "      - echo all good",
        "      - |",
        "        echo 'compiling widget.c' >&2",
        "        exit 3",
        "finalize:",
        "  - from: /",
        "    to: /",
      ].join("\n"),
    });
    try {
      await expect(
        build({
          root: tree.root,
          target: "broken",
          platforms: ["linux/amd64"],
          mirrors: MIRROR,
          env,
          outDir: join(work, "broken"),
        }),
      ).rejects.toMatchObject({
        code: "BUILD_STEP_FAILED",
        message: expect.stringMatching(
          /^broken:build-0 failed \(script 2\): exit code 3\ncommand: echo .compiling widget.c. >&2\nexit 3[\s\S]*\| compiling widget\.c/,
        ),
      });
    } finally {
      await tree.cleanup();
    }
  });

  test("with no engine, a package that needs RUN fails with one clear error", async () => {
    const noDocker = { ...process.env, PATH: "/nonexistent", DOCKER_HOST: "unix:///nonexistent.sock" };
    await expect(
      build({
        root: EXTENSIONS,
        target: "hello-service",
        platforms: ["linux/amd64"],
        mirrors: MIRROR,
        env: noDocker,
        outDir: join(work, "x"),
      }),
    ).rejects.toMatchObject({ code: "BUILD_NO_ENGINE", message: expect.stringContaining("buildx") });
  });
});
