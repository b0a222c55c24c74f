/** build, push and inspect through the real binary, against a real registry. */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunningRegistry, startRegistry } from "../../../tools/harness/registry.ts";
import { BIN, EXTENSIONS, expectNoStack, talosExt } from "./run.ts";

let tmp: string;
let registry: RunningRegistry;
// The registry harness may run a proxy in this process: never block the event loop on it.
const runAsync = promisify(execFile);
const NO_DOCKER = { PATH: `/nonexistent:${process.env.PATH}`, DOCKER_HOST: "unix:///nonexistent.sock" };

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "talos-ext-cli-build-"));
  registry = await startRegistry();
});
afterAll(async () => {
  await registry?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe("build", () => {
  test("--plan prints the generated Dockerfile without building", () => {
    const r = talosExt(["build", "hello-service", "--root", EXTENSIONS, "--plan"], { env: NO_DOCKER });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("FROM ghcr.io/talos-ext-playground/toolchain:bookworm AS img-0");
    expect(r.stdout).toContain("# talos-ext step: hello-service:build-0#0");
    const json = talosExt(
      [
        "build",
        "hello-service",
        "--root",
        EXTENSIONS,
        "--plan",
        "--json",
        "--mirror",
        "ghcr.io/talos-ext-playground=talos-ext.local",
      ],
      {
        env: NO_DOCKER,
      },
    ).json();
    expect(json.platforms[0].images[0].resolved).toBe("talos-ext.local/toolchain:bookworm");
  });

  test("a no-engine package builds to a layout that inspect reads; the digest is reproducible", () => {
    const a = talosExt(
      ["build", "usb-serial-rules", "--root", EXTENSIONS, "--output", join(tmp, "a"), "--json"],
      { env: NO_DOCKER },
    );
    expectNoStack(a.stderr);
    expect(a.code).toBe(0);
    const b = talosExt(
      ["build", "usb-serial-rules", "--root", EXTENSIONS, "--output", join(tmp, "b"), "--json"],
      { env: NO_DOCKER },
    );
    expect(b.json().digest).toBe(a.json().digest);
    const info = talosExt(["inspect", join(tmp, "a"), "--json"]).json();
    expect(info.images[0].extension.manifest.metadata.name).toBe("usb-serial-rules");
    expect(info.images[0].config.labels["org.opencontainers.image.licenses"]).toBe("MPL-2.0");
  });

  test("usage errors exit 2; an unknown target exits 1 with a code; no engine for RUN is one clear error", () => {
    expect(talosExt(["build", "x", "--engine", "podman"]).code).toBe(2);
    const unknown = talosExt(["build", "nope", "--root", EXTENSIONS, "--json"], { env: NO_DOCKER });
    expect(unknown.code).toBe(1);
    expect(unknown.json().diagnostics.map((d: { code: string }) => d.code)).toContain("GRAPH_TARGET_UNKNOWN");
    const noEngine = talosExt(["build", "hello-service", "--root", EXTENSIONS, "--output", join(tmp, "h")], {
      env: NO_DOCKER,
    });
    expect(noEngine.code).toBe(1);
    expect(noEngine.stderr).toContain("error BUILD_NO_ENGINE");
    expectNoStack(noEngine.stderr);
  });
});

describe("push and inspect", () => {
  test("push a built layout, then inspect the reference from the registry", async () => {
    const ref = `${registry.url}/ext/usb-serial-rules:1.0.0`;
    const built = talosExt(
      ["build", "usb-serial-rules", "--root", EXTENSIONS, "--output", join(tmp, "p"), "--json"],
      { env: NO_DOCKER },
    );
    const digest = built.json().digest;
    const pushed = await runAsync(process.execPath, [
      BIN,
      "push",
      join(tmp, "p"),
      ref,
      "--insecure-registry",
      registry.url,
      "--json",
    ]);
    expect(JSON.parse(pushed.stdout).digest).toBe(digest);
    const again = await runAsync(process.execPath, [
      BIN,
      "push",
      join(tmp, "p"),
      ref,
      "--insecure-registry",
      registry.url,
      "--json",
    ]);
    expect(JSON.parse(again.stdout).skippedBlobs).toBeGreaterThan(0);
    const info = await runAsync(process.execPath, [
      BIN,
      "inspect",
      ref,
      "--insecure-registry",
      registry.url,
      "--json",
    ]);
    const parsed = JSON.parse(info.stdout);
    expect(parsed.digest).toBe(digest);
    expect(parsed.images[0].extension.ok).toBe(true);
  });

  test("TLS is the default: a plain-HTTP registry without --insecure fails with a registry code", async () => {
    const err = await runAsync(process.execPath, [
      BIN,
      "push",
      join(tmp, "p"),
      `${registry.url}/ext/x:1`,
      "--json",
    ]).catch((e) => e);
    expect(err.code).toBe(1);
    expect(JSON.parse(err.stdout).diagnostics.at(-1).code).toMatch(/^REGISTRY_/);
    expectNoStack(err.stderr);
  });
});
