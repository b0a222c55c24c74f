/**
 * `talos-ext deploy --extension hello-service`, the whole path with real parts where they run
 * here: hello-service compiled by the docker engine's BuildKit, a real registry on 127.0.0.1,
 * the imager double composing an installer from what it pulls, and the talosctl double booting
 * what it pulls from that registry. The nodes' current extensions (iscsi-tools from the official
 * catalog, an old hello-service) must survive, at the target release's versions.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RegistryClient } from "@talos-ext/image";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { capturedCliIo, talosctlDoubleEnv } from "../../../tools/doubles/talosctl-state.ts";
import { type DockerEngine, startDockerEngine } from "../../../tools/harness/docker.ts";
import { type RunningRegistry, startRegistry } from "../../../tools/harness/registry.ts";
import { rolloutConfig, seedSiderolabs } from "../../../tools/harness/siderolabs.ts";
import { ensureToolchainImage } from "../../../tools/harness/toolchain.ts";
import { runCli } from "../src/index.ts";

const repo = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
const EXTENSIONS = repo("extensions");

let engine: DockerEngine;
let reg: RunningRegistry;
let client: RegistryClient;
let dir: string;

const node = (hostname: string, role: string, hello = "0.9.0") => ({
  hostname,
  role,
  boot: {
    current: {
      version: "v1.14.0",
      extensions: [
        { name: "iscsi-tools", version: "v0.1.9" },
        { name: "hello-service", version: hello },
      ],
    },
  },
});

async function writeState(nodes: Record<string, unknown>): Promise<void> {
  await writeFile(join(dir, "state.json"), JSON.stringify({ clientVersion: "v1.14.0", nodes }));
}

beforeAll(async () => {
  engine = await startDockerEngine();
  ensureToolchainImage(engine.cli, engine.host);
  reg = await startRegistry();
  client = new RegistryClient({ insecure: true, retryDelayMs: 20 });
  dir = await mkdtemp(join(tmpdir(), "talos-ext-rollout-"));
  // What ghcr.io/siderolabs would serve, behind the workspace's mirror.
  await seedSiderolabs(client, reg.url, "v1.14.1", [{ name: "iscsi-tools", version: "v0.2.0" }]);
  await writeFile(join(dir, "talos-ext.yaml"), rolloutConfig(reg.url, EXTENSIONS));
}, 900_000);

afterAll(async () => {
  client?.close();
  await reg?.stop();
  await engine?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const io = () => capturedCliIo(dir, { ...talosctlDoubleEnv(dir, { pull: true }), DOCKER_HOST: engine.host });

const tags = async (name: string) => {
  const r = await fetch(`http://${reg.url}/v2/${name}/tags/list`);
  return r.ok ? (((await r.json()) as { tags?: string[] }).tags ?? []) : [];
};

describe("deploy --extension hello-service", () => {
  test("--dry-run prints every step and the plan, and changes nothing", { timeout: 300_000 }, async () => {
    await writeState({ "10.5.0.2": node("cp-1", "controlplane"), "10.5.0.4": node("w-1", "worker") });
    const before = await readFile(join(dir, "state.json"), "utf8");
    const t = io();
    const code = await runCli(["deploy", "--extension", "hello-service", "--dry-run"], t.io);
    if (code !== 0 || process.env.SHOW) console.error(t.err(), t.out());
    expect(code).toBe(0);
    expect(t.err()).toContain("[--] image: would build hello-service (linux/amd64:");
    expect(t.err()).toContain(
      `[--] installer: imager route, ~iscsi-tools v0.1.9->v0.2.0 ~hello-service 0.9.0->unbuilt -> ${reg.url}/ext/installer:v1.14.1`,
    );
    expect(t.out()).toMatch(/10\.5\.0\.2\s+controlplane\s+v1\.14\.0\s+v1\.14\.1\s+upgrade/);
    expect(t.out()).toContain(`upgrade --image ${reg.url}/ext/installer:v1.14.1`);
    expect(t.out()).toContain("dry run: nothing was built, pushed, composed or upgraded");
    expect(await readFile(join(dir, "state.json"), "utf8")).toBe(before);
    expect(await tags("ext/hello-service")).toEqual([]);
    expect(await tags("ext/installer")).toEqual([]);
  });

  test("builds, pushes, composes an installer that keeps the nodes' extensions, rolls it out verified", {
    timeout: 900_000,
  }, async () => {
    await writeState({ "10.5.0.2": node("cp-1", "controlplane"), "10.5.0.4": node("w-1", "worker") });
    const t = io();
    const code = await runCli(["deploy", "--extension", "hello-service", "--yes", "--json"], t.io);
    if (code !== 0 || process.env.SHOW) console.error(t.err(), t.out());
    expect(code).toBe(0);
    const result = JSON.parse(t.out());
    expect(result.ok).toBe(true);
    expect(result.tasks.map((x: { title: string }) => x.title)).toEqual([
      "read 2 node(s)",
      "build hello-service",
      "push " + `${reg.url}/ext/hello-service:1.0.0`,
      "compose installer (imager)",
      "plan the rollout",
    ]);
    expect(result.installer.reference).toMatch(new RegExp(`^${reg.url}/ext/installer@sha256:[0-9a-f]{64}$`));
    expect(await tags("ext/hello-service")).toEqual(["1.0.0"]);
    // Both nodes booted what was composed: iscsi-tools kept (at v1.14.1's version), ours updated.
    const state = JSON.parse(await readFile(join(dir, "state.json"), "utf8"));
    for (const n of ["10.5.0.2", "10.5.0.4"]) {
      const current = state.nodes[n].boot.current;
      expect(current.version).toBe("v1.14.1");
      expect(current.image).toBe(result.installer.reference);
      expect(current.extensions.map((e: { name: string; version: string }) => [e.name, e.version])).toEqual([
        ["iscsi-tools", "v0.2.0"],
        ["hello-service", "1.0.0"],
      ]);
    }
    expect(result.report.nodes.map((n: { outcome: string }) => n.outcome)).toEqual(["upgraded", "upgraded"]);
  });

  test("nodes with different extension sets stop it before anything is built", {
    timeout: 120_000,
  }, async () => {
    await writeState({
      "10.5.0.2": node("cp-1", "controlplane"),
      "10.5.0.4": node("w-1", "worker", "0.8.0"),
    });
    const t = io();
    const code = await runCli(["deploy", "--extension", "hello-service", "--yes"], t.io);
    expect(code).toBe(1);
    expect(t.err()).toContain("CLI_NODE_SETS_DIFFER");
    expect(t.err()).toContain("10.5.0.4 has [hello-service 0.8.0, iscsi-tools v0.1.9]");
    expect(t.err()).not.toContain("build hello-service");
  });

  test("usage: an action next to --extension, or no registry anywhere, exits 2", async () => {
    const t = io();
    expect(await runCli(["deploy", "plan", "--extension", "hello-service"], t.io)).toBe(2);
    await writeFile(join(dir, "bare.yaml"), "talos:\n  version: v1.14.1\n");
    const u = io();
    expect(await runCli(["deploy", "--extension", "hello-service", "--config", "bare.yaml"], u.io)).toBe(2);
    expect(u.err()).toContain("no registry to push to");
    expect(u.err()).toContain("registry.repository");
  });
});
