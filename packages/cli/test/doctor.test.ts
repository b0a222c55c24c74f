/** `doctor` through the real binary: a broken set-up gets a fail with a fix each; a good one passes. */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import { expectNoStack, talosExt } from "./run.ts";

const DOUBLE = fileURLToPath(new URL("../../../tools/doubles/talosctl", import.meta.url));
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "talos-ext-doctor-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

type Check = { check: string; status: string; detail: string; fix?: string; code?: string };
const byName = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.check, c]));

test("a broken set-up: every problem named with a fix, exit 1, no secret and no stack", async () => {
  const ws = join(tmp, "broken");
  await mkdir(join(ws, "docker"), { recursive: true });
  await writeFile(join(ws, "talos-ext.yaml"), "talos:\n  version: 1.13\n");
  await writeFile(join(ws, "cache-is-a-file"), "x");
  await writeFile(
    join(ws, "docker/config.json"),
    JSON.stringify({ auths: { "r.example": { auth: "c2VjcmV0OnNlY3JldA==" } }, credsStore: "nosuchhelper" }),
  );
  const env = {
    PATH: "/nonexistent",
    DOCKER_HOST: "unix:///nonexistent.sock",
    TALOSCTL: "",
    DOCKER_CONFIG: join(ws, "docker"),
    TALOS_EXT_CACHE_DIR: join(ws, "cache-is-a-file"),
  };
  const r = talosExt(["doctor", "--json"], { cwd: ws, env });
  expect(r.code).toBe(1);
  const checks = byName(r.json().checks as Check[]);
  expect(checks.node?.status).toBe("ok");
  expect(checks.config).toMatchObject({ status: "fail", code: "CONFIG_INVALID_VALUE" });
  expect(checks.config?.detail).toContain(`${join(ws, "talos-ext.yaml")}:2:12`);
  expect(checks.engine).toMatchObject({ status: "warn", code: "BUILD_NO_ENGINE" });
  expect(checks.talosctl).toMatchObject({ status: "warn", code: "TALOSCTL_NOT_FOUND" });
  expect(checks["registry-auth"]).toMatchObject({ status: "fail" });
  expect(checks["registry-auth"]?.detail).toContain("nosuchhelper");
  expect(checks["source-cache"]).toMatchObject({ status: "fail", code: "SOURCE_CACHE_UNUSABLE" });
  for (const c of Object.values(checks)) if (c.status !== "ok") expect(c.fix, c.check).toBeTruthy();
  expect(r.stdout).not.toContain("c2VjcmV0");

  const text = talosExt(["doctor"], { cwd: ws, env });
  expect(text.code).toBe(1);
  expect(text.stdout).toMatch(/^fail\s+config\s+.*talos-ext\.yaml:2:12/m);
  expect(text.stdout).toMatch(/fix: /);
  expectNoStack(text.stdout + text.stderr);
});

test("a good set-up: config, talosctl (the double) and talosconfig, cache; exit 0", async () => {
  const ws = join(tmp, "good");
  await mkdir(join(ws, "docker"), { recursive: true });
  await writeFile(
    join(ws, "talos-ext.yaml"),
    "talos:\n  version: v1.13.0\nregistry:\n  repository: r.example/ext\ncluster:\n  talosconfig: talosconfig\n",
  );
  await writeFile(
    join(ws, "talosconfig"),
    "context: lab\ncontexts:\n  lab:\n    endpoints: [10.5.0.2]\n    nodes: [10.5.0.2]\n    ca: Y2E=\n    crt: Y3J0\n    key: a2V5\n",
  );
  await writeFile(join(ws, "state.json"), JSON.stringify({ clientVersion: "v1.13.2", nodes: {} }));
  await writeFile(
    join(ws, "docker/config.json"),
    JSON.stringify({ auths: { "r.example": { auth: "dTpw" } } }),
  );
  const env = {
    PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
    DOCKER_HOST: "unix:///nonexistent.sock",
    TALOSCTL: DOUBLE,
    TALOSCTL_DOUBLE_STATE: join(ws, "state.json"),
    DOCKER_CONFIG: join(ws, "docker"),
    TALOS_EXT_CACHE_DIR: join(ws, "cache"),
  };
  const r = talosExt(["doctor", "--json"], { cwd: ws, env });
  const checks = byName(r.json().checks as Check[]);
  expect(checks.config).toMatchObject({ status: "ok" });
  expect(checks.talosctl).toMatchObject({ status: "ok" });
  expect(checks.talosctl?.detail).toContain("v1.13.2");
  expect(checks.talosconfig).toMatchObject({ status: "ok" });
  expect(checks["registry-auth"]).toMatchObject({ status: "ok" });
  expect(checks["source-cache"]).toMatchObject({ status: "ok" });
  // The engine may or may not answer on this machine; it is never a fail.
  expect(checks.engine?.status).not.toBe("fail");
  expect(r.code).toBe(0);
});

test("lint and build take their defaults from talos-ext.yaml; flags override; a broken file stops them", async () => {
  const ws = join(tmp, "workspace");
  await mkdir(join(ws, "tree/rules"), { recursive: true });
  await writeFile(
    join(ws, "tree/Pkgfile"),
    "# syntax = ghcr.io/siderolabs/bldr:v0.5.0\n\nformat: v1alpha2\n",
  );
  await writeFile(
    join(ws, "tree/rules/pkg.yaml"),
    "name: rules\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
  );
  await writeFile(join(ws, "tree/rules/hello.txt"), "hi\n");
  await writeFile(
    join(ws, "talos-ext.yaml"),
    "talos:\n  version: v1.12.0\nplatforms: [linux/arm64]\ntree:\n  root: tree\n",
  );
  await mkdir(join(ws, "sub"), { recursive: true });
  const lint = talosExt(["lint", "--json"], { cwd: join(ws, "sub") });
  expect(lint.code).toBe(0);
  expect(lint.json()).toMatchObject({ talosVersion: "v1.12.0", platforms: ["linux/arm64"] });
  const flagged = talosExt(["lint", "--json", "--platform", "linux/amd64"], { cwd: ws });
  expect(flagged.json()).toMatchObject({ platforms: ["linux/amd64"] });
  const built = talosExt(["build", "rules", "--output", join(ws, "out"), "--json"], {
    cwd: ws,
    env: {
      PATH: "/nonexistent",
      DOCKER_HOST: "unix:///nonexistent.sock",
      TALOS_EXT_CACHE_DIR: join(ws, "cache"),
    },
  });
  expect(built.code).toBe(0);
  expect(built.json().platforms.map((p: { platform: string }) => p.platform)).toEqual(["linux/arm64"]);

  await writeFile(join(ws, "talos-ext.yaml"), "talos:\n  version: v1.12.0\nplatfroms: [linux/arm64]\n");
  const broken = talosExt(["lint", "--json"], { cwd: ws });
  expect(broken.code).toBe(1);
  expect(broken.json().diagnostics[0]).toMatchObject({ code: "CONFIG_UNKNOWN_KEY", line: 3, column: 1 });
});
