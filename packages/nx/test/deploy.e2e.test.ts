/**
 * The Nx `deploy` target end to end in a throw-away workspace: `nx run multipath-tools:deploy
 * --dry-run` plans without building (its base images are out of reach here), and
 * `nx run hello-service:deploy --yes` builds through Nx (C compiled by the docker engine's
 * BuildKit), pushes to a real registry, composes with the imager double and rolls out to the
 * talosctl double, which boots what it pulls.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { RegistryClient } from "@talos-ext/image";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { talosctlDoubleEnv } from "../../../tools/doubles/talosctl-state.ts";
import { type DockerEngine, startDockerEngine } from "../../../tools/harness/docker.ts";
import { type RunningRegistry, startRegistry } from "../../../tools/harness/registry.ts";
import { rolloutConfig, seedSiderolabs } from "../../../tools/harness/siderolabs.ts";
import { ensureToolchainImage } from "../../../tools/harness/toolchain.ts";
import { makeWorkspace, type Workspace } from "./workspace.ts";

let ws: Workspace;
let engine: DockerEngine;
let reg: RunningRegistry;
let client: RegistryClient;

const node = (hostname: string, role: string) => ({
  hostname,
  role,
  boot: {
    current: {
      version: "v1.14.0",
      extensions: [
        { name: "iscsi-tools", version: "v0.1.9" },
        { name: "multipath-tools", version: "0.13.0" },
        { name: "hello-service", version: "0.9.0" },
      ],
    },
  },
});

beforeAll(async () => {
  engine = await startDockerEngine();
  ensureToolchainImage(engine.cli, engine.host);
  ws = await makeWorkspace();
  reg = await startRegistry();
  client = new RegistryClient({ insecure: true, retryDelayMs: 20 });
  // What ghcr.io/siderolabs would serve, behind the workspace's mirror.
  await seedSiderolabs(client, reg.url, "v1.14.1", [{ name: "iscsi-tools", version: "v0.2.0" }]);
  await writeFile(join(ws.dir, "talos-ext.yaml"), rolloutConfig(reg.url, "extensions"));
  await writeFile(
    join(ws.dir, "state.json"),
    JSON.stringify({
      clientVersion: "v1.14.0",
      nodes: { "10.5.0.2": node("cp-1", "controlplane"), "10.5.0.4": node("w-1", "worker") },
    }),
  );
  await ws.commit("config");
}, 300_000);

afterAll(async () => {
  await engine?.stop();
  client?.close();
  await reg?.stop();
  if (ws) await rm(ws.dir, { recursive: true, force: true });
});

/** The dry run must not need an engine; the real run builds with the shared test engine. */
const env = (docker = false) => ({
  ...(docker
    ? { DOCKER_HOST: engine.host }
    : { PATH: `/nonexistent:${process.env.PATH}`, DOCKER_HOST: "unix:///nonexistent.sock" }),
  ...talosctlDoubleEnv(ws.dir, { pull: true }),
});

describe("nx run <extension>:deploy", () => {
  test("multipath-tools --dry-run prints the whole plan and builds nothing", {
    timeout: 300_000,
  }, async () => {
    const before = await readFile(join(ws.dir, "state.json"), "utf8");
    // The nodes also run hello-service, whose image nodes do not record: this plan drops it by name.
    const r = await ws.nx(
      ["run", "multipath-tools:deploy", "--dry-run", "--remove", "hello-service", "--output-style=static"],
      env(),
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const all = r.stdout + r.stderr;
    expect(all).toContain("image: would build multipath-tools into");
    expect(all).toContain(
      "installer: imager route, ~iscsi-tools v0.1.9->v0.2.0 ~multipath-tools 0.13.0->unbuilt",
    );
    expect(all).toMatch(/10\.5\.0\.2\s+controlplane\s+v1\.14\.0\s+v1\.14\.1\s+upgrade/);
    expect(all).toContain(`--nodes 10.5.0.4 upgrade --image ${reg.url}/ext/installer:v1.14.1`);
    expect(all).toContain("dry run: nothing was built, pushed, composed or upgraded");
    expect(all).not.toContain("nx run multipath-tools:build");
    expect(await readFile(join(ws.dir, "state.json"), "utf8")).toBe(before);
  });

  test("hello-service --yes builds through Nx, pushes, composes and rolls out", {
    timeout: 600_000,
  }, async () => {
    const r = await ws.nx(
      ["run", "hello-service:deploy", "--yes", "--remove", "multipath-tools", "--output-style=static"],
      env(true),
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const all = r.stdout + r.stderr;
    expect(all).toContain("[ok] nx run hello-service:build");
    expect(all).toMatch(/deployed: hello-service \S+ with \S+\/ext\/installer@sha256:[0-9a-f]{64}/);
    const state = JSON.parse(await readFile(join(ws.dir, "state.json"), "utf8"));
    for (const n of ["10.5.0.2", "10.5.0.4"]) {
      const names = state.nodes[n].boot.current.extensions.map((e: { name: string }) => e.name);
      expect(names).toEqual(["iscsi-tools", "hello-service"]);
      expect(state.nodes[n].boot.current.version).toBe("v1.14.1");
    }
  });
});
