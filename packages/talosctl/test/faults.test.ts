/**
 * Every fault the double injects, and every kind of bad input, gives its typed error naming the
 * node and the command; nothing hangs and no secret reaches a message.
 */
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createTalosctl, isTalosctlError, TalosctlError } from "../src/index.ts";
import { type Cluster, DOUBLE, defaultState, makeCluster } from "./cluster.ts";

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.cleanup();
  cluster = undefined;
});

const IMAGE = "reg.example/installer:v1.14.1";

async function failure(p: Promise<unknown>): Promise<TalosctlError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof TalosctlError) return e;
    throw e;
  }
  throw new Error("expected the call to fail");
}

describe.each(["v1.12.5", "v1.13.4", "v1.14.0"])("faults with a %s client", (client) => {
  const minor = Number(client.split(".")[1]);

  it("unreachable node", async () => {
    const s = defaultState(client);
    s.nodes["10.5.0.3"].faults = { unreachable: true };
    cluster = await makeCluster(s);
    for (const call of [
      () => cluster!.talosctl.version("10.5.0.3"),
      () => cluster!.talosctl.extensions("10.5.0.3"),
      () => cluster!.talosctl.services("10.5.0.3"),
      () => cluster!.talosctl.upgrade("10.5.0.3", { image: IMAGE, serverVersion: "v1.13.4" }),
    ]) {
      const e = await failure(call());
      expect(e).toMatchObject({ code: "TALOSCTL_NODE_UNREACHABLE", node: "10.5.0.3", exitCode: 1 });
      expect(e.message).toContain("10.5.0.3");
      expect(e.command?.[0]).toBe(DOUBLE);
    }
  });

  it("upgrade that fails, with the installer's output", async () => {
    const s = defaultState(client);
    s.nodes["10.5.0.4"].faults = {
      upgradeFails: { exitCode: 3, output: ["error: no space left on device writing /boot/EFI"] },
    };
    cluster = await makeCluster(s);
    const e = await failure(cluster.talosctl.upgrade("10.5.0.4", { image: IMAGE }));
    expect(e.code).toBe("TALOSCTL_UPGRADE_FAILED");
    expect(e.installerOutput).toContain("no space left on device writing /boot/EFI");
    expect((await cluster.state()).nodes["10.5.0.4"].boot.pending ?? null).toBeNull();
  });

  it("an installer image the node cannot pull", async () => {
    cluster = await makeCluster(defaultState(client));
    const e = await failure(cluster.talosctl.upgrade("10.5.0.4", { image: "reg.example/missing:v9" }));
    expect(e.code).toBe("TALOSCTL_UPGRADE_FAILED");
  });

  it("node that never comes back", async () => {
    const s = defaultState(client);
    s.nodes["10.5.0.4"].faults = { neverBack: true };
    cluster = await makeCluster(s);
    const e = await failure(cluster.talosctl.upgrade("10.5.0.4", { image: IMAGE, trackTimeoutMs: 300 }));
    expect(e).toMatchObject({ code: "TALOSCTL_REBOOT_TIMEOUT", node: "10.5.0.4" });
    await expect(cluster.talosctl.version("10.5.0.4")).rejects.toMatchObject({
      code: "TALOSCTL_NODE_UNREACHABLE",
    });
  });

  it("extension missing after reboot, service that does not start", async () => {
    const s = defaultState(client);
    s.nodes["10.5.0.4"].faults = { dropExtensions: ["drbd"], serviceFails: ["ext-multipathd"] };
    cluster = await makeCluster(s);
    const t = cluster.talosctl;
    await t.upgrade("10.5.0.4", { image: IMAGE });
    const names = (await t.extensions("10.5.0.4")).map((x) => x.name);
    expect(names).not.toContain("drbd");
    expect(names).toContain("multipath-tools");
    expect(await t.service("10.5.0.4", "ext-multipathd")).toMatchObject({ state: "Waiting", health: "?" });
    await expect(t.get("10.5.0.4", "services", "ext-multipathd")).rejects.toMatchObject({
      code: "TALOSCTL_NOT_FOUND_RESOURCE",
      node: "10.5.0.4",
    });
  });

  it("slow node: the call's timeout", async () => {
    const s = defaultState(client);
    s.nodes["10.5.0.2"].faults = { slowMs: 20_000 };
    cluster = await makeCluster(s);
    const e = await failure(cluster.talosctl.extensions("10.5.0.2", { timeoutMs: 500 }));
    expect(e).toMatchObject({ code: "TALOSCTL_TIMEOUT", node: "10.5.0.2", timedOut: true });
  });

  it.skipIf(minor < 13)("drain failure leaves the node armed", async () => {
    const s = defaultState(client);
    s.nodes["10.5.0.2"].faults = {
      drainFails: "Cannot evict pod as it would violate the pod's disruption budget.",
    };
    cluster = await makeCluster(s);
    const e = await failure(cluster.talosctl.upgrade("10.5.0.2", { image: IMAGE, drain: true }));
    expect(e).toMatchObject({ code: "TALOSCTL_DRAIN_FAILED", node: "10.5.0.2", armed: true });
    expect((await cluster.talosctl.version("10.5.0.2")).tag).toBe("v1.13.4");
    // Armed: whatever reboots it next switches the version.
    await cluster.talosctl.reboot("10.5.0.2");
    expect((await cluster.talosctl.version("10.5.0.2")).tag).toBe("v1.14.1");
  });

  it("rollback without a previous entry, health and etcd on a worker, unhealthy cluster", async () => {
    const s = defaultState(client);
    s.nodes["10.5.0.3"].healthy = false;
    cluster = await makeCluster(s);
    const t = cluster.talosctl;
    await expect(t.rollback("10.5.0.4")).rejects.toMatchObject({
      code: "TALOSCTL_ROLLBACK_FAILED",
      node: "10.5.0.4",
    });
    await expect(t.health("10.5.0.4")).rejects.toMatchObject({ code: "TALOSCTL_NOT_CONTROL_PLANE" });
    await expect(t.etcdMembers("10.5.0.4")).rejects.toMatchObject({ code: "TALOSCTL_NOT_CONTROL_PLANE" });
    await expect(t.health("10.5.0.2", { waitTimeoutMs: 200 })).rejects.toMatchObject({
      code: "TALOSCTL_UNHEALTHY",
      node: "10.5.0.2",
    });
  });

  it("another upgrade in progress", async () => {
    const s = defaultState(client);
    s.nodes["10.5.0.4"].faults = { busy: true };
    cluster = await makeCluster(s);
    await expect(cluster.talosctl.upgrade("10.5.0.4", { image: IMAGE })).rejects.toMatchObject({
      code: "TALOSCTL_BUSY",
      node: "10.5.0.4",
    });
  });

  it("authentication failure", async () => {
    const s = defaultState(client);
    s.nodes["10.5.0.2"].faults = { auth: true };
    cluster = await makeCluster(s);
    await expect(cluster.talosctl.extensions("10.5.0.2")).rejects.toMatchObject({ code: "TALOSCTL_AUTH" });
  });
});

describe("bad input", () => {
  it("missing binary", async () => {
    await expect(createTalosctl({ env: { PATH: "/nonexistent", TALOSCTL: "" } })).rejects.toMatchObject({
      code: "TALOSCTL_NOT_FOUND",
    });
    await expect(createTalosctl({ env: { TALOSCTL: "/nonexistent/talosctl" } })).rejects.toMatchObject({
      code: "TALOSCTL_NOT_FOUND",
    });
  });

  it("TALOSCTL, then PATH", async () => {
    cluster = await makeCluster(defaultState("v1.14.0"));
    const dir = join(cluster.dir, "bin");
    await mkdir(dir);
    const shim = join(dir, "talosctl");
    await writeFile(shim, `#!/bin/sh\nexec "${DOUBLE}" "$@"\n`);
    await chmod(shim, 0o755);
    const viaPath = await createTalosctl({
      env: { ...cluster.env, TALOSCTL: "", PATH: `${dir}:${process.env.PATH}` },
    });
    expect(viaPath.binary).toBe(shim);
    const viaEnv = await createTalosctl({ env: { ...cluster.env, TALOSCTL: DOUBLE, PATH: "/usr/bin:/bin" } });
    expect(viaEnv.binary).toBe(DOUBLE);
  });

  it.each(["v1.11.9", "v1.15.0", "v1.15.0-alpha.1"])("unsupported client version %s", async (v) => {
    const s = defaultState("v1.14.0");
    cluster = await makeCluster(s);
    const raw = JSON.parse(await readFile(cluster.statePath, "utf8"));
    raw.clientVersion = v;
    await writeFile(cluster.statePath, JSON.stringify(raw));
    await expect(createTalosctl({ binary: DOUBLE, env: cluster.env })).rejects.toMatchObject({
      code: "TALOSCTL_UNSUPPORTED_VERSION",
    });
  });

  it("malformed talosconfig: typed error without its contents", async () => {
    cluster = await makeCluster(defaultState("v1.14.0"));
    const secret =
      "LS0tLS1CRUdJTiBFRDI1NTE5IFBSSVZBVEUgS0VZLS0tLS0KTUM0Q0FRQXdCUVlESzJWd0JDSUVJQ2hlbGxvc2VjcmV0";
    const bad = join(cluster.dir, "talosconfig");
    for (const text of [
      `context: a\ncontexts:\n  a:\n    key: ${secret}\n    endpoints: [1.2.3.4\n`,
      `context: a\ncontexts:\n  b:\n    key: ${secret}\n`,
      `- key: ${secret}\n`,
      `context: a\ncontexts:\n  a:\n    key: ${secret}\n    endpoints: 5\n`,
    ]) {
      await writeFile(bad, text);
      const e = await failure(createTalosctl({ binary: DOUBLE, env: cluster.env, talosconfig: bad }));
      expect(e.code).toBe("TALOSCTL_CONFIG_INVALID");
      expect(JSON.stringify(e.toJSON())).not.toContain(secret.slice(0, 20));
      expect(String(e.stack)).not.toContain(secret.slice(0, 20));
    }
    await expect(
      createTalosctl({ binary: DOUBLE, env: cluster.env, talosconfig: join(cluster.dir, "none") }),
    ).rejects.toMatchObject({
      code: "TALOSCTL_CONFIG_INVALID",
    });
    await expect(
      createTalosctl({ binary: DOUBLE, env: cluster.env, talosconfig: cluster.dir }),
    ).rejects.toMatchObject({
      code: "TALOSCTL_CONFIG_INVALID",
    });
    // A good one is passed on as --talosconfig, with --context.
    await writeFile(
      bad,
      `context: a\ncontexts:\n  a:\n    endpoints: [10.5.0.2]\n    ca: ${secret}\n    crt: ${secret}\n    key: ${secret}\n  b:\n    endpoints: [10.5.0.3]\n`,
    );
    const t = await createTalosctl({ binary: DOUBLE, env: cluster.env, talosconfig: bad, context: "b" });
    expect(t.talosconfig).toEqual({
      path: bad,
      context: "b",
      contexts: ["a", "b"],
      endpoints: ["10.5.0.3"],
      nodes: [],
    });
    await t.version("10.5.0.2");
    const last = (await cluster.calls()).at(-1)!;
    expect(last.slice(0, 6)).toEqual(["--talosconfig", bad, "--context", "b", "--nodes", "10.5.0.2"]);
    // TALOSCONFIG is read the same way; --endpoints overrides the context's.
    const viaEnv = await createTalosctl({
      binary: DOUBLE,
      env: { ...cluster.env, TALOSCONFIG: bad },
      endpoints: ["10.5.0.2", "10.5.0.3"],
    });
    expect(viaEnv.talosconfig?.context).toBe("a");
    await viaEnv.machineType("10.5.0.4");
    expect((await cluster.calls()).at(-1)!.slice(0, 6)).toEqual([
      "--talosconfig",
      bad,
      "--endpoints",
      "10.5.0.2,10.5.0.3",
      "--nodes",
      "10.5.0.4",
    ]);
    await writeFile(bad, `context: a\ncontexts:\n  a:\n    key: ${secret}\n    nodes: {x: 1}\n`);
    await expect(
      createTalosctl({ binary: DOUBLE, env: { ...cluster.env, TALOSCONFIG: bad } }),
    ).rejects.toMatchObject({
      code: "TALOSCTL_CONFIG_INVALID",
    });
  });

  it("unknown node, bad node names", async () => {
    cluster = await makeCluster(defaultState("v1.14.0"));
    const t = cluster.talosctl;
    await expect(t.extensions("ghost.example")).rejects.toMatchObject({
      code: "TALOSCTL_NODE_UNKNOWN",
      node: "ghost.example",
    });
    await expect(t.extensions("10.9.9.9")).rejects.toMatchObject({
      code: "TALOSCTL_NODE_UNREACHABLE",
      node: "10.9.9.9",
    });
    for (const bad of ["10.5.0.2,10.5.0.3", "", "--help", "a b"]) {
      await expect(t.extensions(bad)).rejects.toMatchObject({ code: "TALOSCTL_INVALID_ARGUMENT" });
    }
  });

  it("truncated and non-JSON output, unknown resource type, missing id", async () => {
    const s = defaultState("v1.14.0");
    s.nodes["10.5.0.3"].faults = { truncateJson: true };
    s.nodes["10.5.0.4"].faults = { garbageOutput: true };
    cluster = await makeCluster(s);
    const t = cluster.talosctl;
    await expect(t.extensions("10.5.0.3")).rejects.toMatchObject({
      code: "TALOSCTL_OUTPUT_INVALID",
      node: "10.5.0.3",
    });
    await expect(t.extensions("10.5.0.4")).rejects.toMatchObject({
      code: "TALOSCTL_OUTPUT_INVALID",
      node: "10.5.0.4",
    });
    await expect(t.get("10.5.0.2", "nosuchthings")).rejects.toMatchObject({
      code: "TALOSCTL_NOT_FOUND_RESOURCE",
      node: "10.5.0.2",
    });
    await expect(t.get("10.5.0.2", "extensions", "42")).rejects.toMatchObject({
      code: "TALOSCTL_NOT_FOUND_RESOURCE",
    });
    await expect(t.service("10.5.0.2", "ext-nothing")).rejects.toMatchObject({
      code: "TALOSCTL_NOT_FOUND_RESOURCE",
    });
    await expect(t.read("10.5.0.2", "/etc/nothing")).rejects.toMatchObject({
      code: "TALOSCTL_NOT_FOUND_RESOURCE",
    });
    const budget = await createTalosctl({ binary: DOUBLE, env: cluster.env, maxOutputBytes: 100 });
    await expect(budget.extensions("10.5.0.2")).rejects.toMatchObject({ code: "TALOSCTL_OUTPUT_TOO_LARGE" });
  });

  it("AbortSignal and SIGINT mid-call", async () => {
    const s = defaultState("v1.14.0");
    s.nodes["10.5.0.2"].faults = { slowMs: 30_000 };
    cluster = await makeCluster(s);
    const t = cluster.talosctl;
    const ac = new AbortController();
    const pending = t.extensions("10.5.0.2", { signal: ac.signal });
    await waitForCalls(cluster, 2);
    ac.abort();
    await expect(pending).rejects.toMatchObject({
      code: "TALOSCTL_ABORTED",
      node: "10.5.0.2",
      isCanceled: true,
    });

    const before = (await cluster.pids()).length;
    const interrupted = t.extensions("10.5.0.2");
    await waitForCalls(cluster, before + 1);
    process.kill((await cluster.pids()).at(-1)!, "SIGINT");
    const e = await failure(interrupted);
    expect(e).toMatchObject({ code: "TALOSCTL_ABORTED", node: "10.5.0.2", signal: "SIGINT" });
    expect(isTalosctlError(e, "TALOSCTL_ABORTED")).toBe(true);
    expect(e.message).toContain("get extensions");
  });
});

async function waitForCalls(c: Cluster, n: number): Promise<void> {
  for (;;) {
    if ((await c.pids()).length >= n) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
