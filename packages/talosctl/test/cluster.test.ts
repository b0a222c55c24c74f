/**
 * The package against the cluster double, for each supported client version: reads (version,
 * extensions, services, machine type, etcd) and the upgrade / reboot / rollback flows, with the
 * exact flags each version gets.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type Cluster, defaultState, makeCluster, SCHEMATIC_ID } from "./cluster.ts";

const CLIENTS = ["v1.12.5", "v1.13.4", "v1.14.0"] as const;
let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.cleanup();
  cluster = undefined;
});

const upgradeArgv = async (c: Cluster) => {
  const calls = await c.calls();
  const argv = calls.filter((a) => a.includes("upgrade")).at(-1)!;
  return argv.slice(argv.indexOf("upgrade"));
};

describe.each(CLIENTS)("talosctl %s against the double", (clientVersion) => {
  const minor = Number(clientVersion.split(".")[1]);

  it("detects the client version and its features", async () => {
    cluster = await makeCluster(defaultState(clientVersion));
    expect(cluster.talosctl.clientVersion.tag).toBe(clientVersion);
    expect(cluster.talosctl.features).toMatchObject({ lifecycleUpgrade: minor >= 13, noReboot: minor >= 14 });
  });

  it("reads version, extensions, services, machine type and etcd state, one node per call", async () => {
    cluster = await makeCluster(defaultState(clientVersion));
    const t = cluster.talosctl;
    const v = await t.version("10.5.0.2");
    expect(v).toMatchObject({ node: "10.5.0.2", tag: "v1.13.4", osArch: "linux/amd64", enabled: "RBAC" });

    const exts = await t.extensions("10.5.0.2");
    expect(exts.map((e) => [e.id, e.name, e.virtual])).toEqual([
      ["0", "drbd", false],
      ["1", "multipath-tools", false],
      ["2", "schematic", true],
      ["modules.dep", "modules.dep", true],
    ]);
    expect(exts[0]!.compatibility).toBe(">= v1.13.4");
    expect(exts[1]!.description).toBe("[extra] Provides multipathd and multipath tools.\n");
    expect(exts[2]!.schematic).toMatchObject({
      id: SCHEMATIC_ID,
      officialExtensions: ["siderolabs/drbd"],
      extraKernelArgs: ["console=ttyS0"],
    });

    const seen: string[] = [];
    await t.get("10.5.0.2", "extensions", undefined, { onResource: (r) => seen.push(String(r.metadata.id)) });
    expect(seen).toEqual(["0", "1", "2", "modules.dep"]);
    const stop = new Error("caller stops");
    await expect(
      t.get("10.5.0.2", "extensions", undefined, {
        onResource: () => {
          throw stop;
        },
      }),
    ).rejects.toBe(stop);

    const yaml = await t.get("10.5.0.2", "extensions", undefined, { output: "yaml" });
    const json = await t.get("10.5.0.2", "extensions");
    expect(yaml).toEqual(json);
    expect(json[0]!.metadata).toMatchObject({ id: 0, version: 1, created: "2026-08-01T10:00:00Z" });

    const services = await t.services("10.5.0.2");
    expect(services.find((s) => s.id === "ext-multipathd")).toMatchObject({ state: "Running", health: "?" });
    expect(services.find((s) => s.id === "etcd")).toMatchObject({ state: "Running", health: "OK" });
    const svc = await t.service("10.5.0.2", "ext-multipathd");
    expect(svc).toMatchObject({ node: "10.5.0.2", id: "ext-multipathd", state: "Running", health: "?" });
    expect(svc.events[0]).toMatchObject({ state: "Running", message: "Service started as goroutine" });
    const running = await t.get("10.5.0.2", "services", "ext-multipathd");
    expect(running[0]!.spec).toEqual({ healthy: false, running: true, unknown: true });

    expect(await t.machineType("10.5.0.2")).toBe("controlplane");
    expect(await t.machineType("10.5.0.4")).toBe("worker");

    const members = await t.etcdMembers("10.5.0.2");
    expect(members.map((m) => m.hostname)).toEqual(["cp-1", "cp-2"]);
    expect(members[0]).toMatchObject({
      peerUrls: ["https://10.5.0.2:2380"],
      clientUrls: ["https://10.5.0.2:2379"],
      learner: false,
    });
    expect(members[0]!.id).toMatch(/^[0-9a-f]{16}$/);
    const status = await t.etcdStatus("10.5.0.3");
    expect(status).toMatchObject({
      node: "10.5.0.3",
      dbSize: "21 MB",
      dbSizeInUse: "9.5 MB",
      inUsePercent: 45,
      raftTerm: 3,
      errors: [],
    });
    expect(status.leader).toBe(members[0]!.id);

    await t.health("10.5.0.2", { waitTimeoutMs: 5_000 });
    expect(await t.logs("10.5.0.2", "ext-multipathd")).toEqual(["[talos] service[ext-multipathd]: started"]);
    expect(await t.read("10.5.0.2", "/etc/extensions.yaml")).toContain("name: multipath-tools");

    for (const argv of await cluster.calls()) {
      const n = argv.indexOf("--nodes");
      if (n !== -1) expect(argv[n + 1]).not.toContain(",");
    }
  });

  it("upgrades a node with reboot: new version and extensions, previous entry kept", async () => {
    cluster = await makeCluster(defaultState(clientVersion));
    const t = cluster.talosctl;
    const r = await t.upgrade("10.5.0.4", { image: "reg.example/installer:v1.14.1", trackTimeoutMs: 60_000 });
    expect(r.path).toBe(minor >= 13 ? "lifecycle" : "legacy");
    const argv = await upgradeArgv(cluster);
    expect(argv).toContain("--image");
    expect(argv).not.toContain("--insecure");
    expect(argv).not.toContain("--stage");
    expect(argv.includes("--legacy")).toBe(false);
    expect(argv).toEqual(["upgrade", "--image", "reg.example/installer:v1.14.1", "--timeout", "60s"]);
    expect((await t.version("10.5.0.4")).tag).toBe("v1.14.1");
    expect((await t.extensions("10.5.0.4")).find((e) => e.name === "multipath-tools")?.version).toBe(
      "0.14.0",
    );
    const s = await cluster.state();
    expect(s.nodes["10.5.0.4"].boot.previous.version).toBe("v1.13.4");

    await t.rollback("10.5.0.4");
    expect((await t.version("10.5.0.4")).tag).toBe("v1.13.4");
    expect((await t.extensions("10.5.0.4")).find((e) => e.name === "multipath-tools")?.version).toBe(
      "0.13.0",
    );
  });

  it("upgradeCommand names exactly the argv upgrade runs, without running anything", async () => {
    cluster = await makeCluster(defaultState(clientVersion));
    const t = cluster.talosctl;
    const opts = {
      image: "reg.example/installer:v1.14.1",
      rebootMode: "powercycle" as const,
      trackTimeoutMs: 60_000,
    };
    const planned = t.upgradeCommand("10.5.0.4", { ...opts, serverVersion: "v1.13.4" });
    expect((await cluster.calls()).filter((a) => a.includes("upgrade"))).toEqual([]);
    expect(planned.path).toBe(minor >= 13 ? "lifecycle" : "legacy");
    const r = await t.upgrade("10.5.0.4", opts);
    expect(r.command).toEqual(planned.argv);
    expect(await upgradeArgv(cluster)).toEqual(planned.args);
  });

  it("stages an upgrade (armed node) and activates it with a reboot", async () => {
    cluster = await makeCluster(defaultState(clientVersion));
    const t = cluster.talosctl;
    const r = await t.upgrade("10.5.0.4", { image: "reg.example/installer:v1.14.1", stage: true });
    expect(r.staged).toBe(true);
    const argv = await upgradeArgv(cluster);
    if (minor >= 14)
      expect(argv).toEqual(["upgrade", "--image", "reg.example/installer:v1.14.1", "--no-reboot"]);
    else if (minor === 13)
      expect(argv).toEqual(["upgrade", "--image", "reg.example/installer:v1.14.1", "--stage", "--legacy"]);
    else expect(argv).toEqual(["upgrade", "--image", "reg.example/installer:v1.14.1", "--stage"]);
    expect((await t.version("10.5.0.4")).tag).toBe("v1.13.4");
    expect((await cluster.state()).nodes["10.5.0.4"].boot.pending.version).toBe("v1.14.1");

    await t.reboot("10.5.0.4", { mode: "powercycle" });
    expect((await t.version("10.5.0.4")).tag).toBe("v1.14.1");
    expect((await cluster.state()).nodes["10.5.0.4"].boot.pending).toBeNull();
  });

  it("passes drain flags only where they exist", async () => {
    cluster = await makeCluster(defaultState(clientVersion));
    const t = cluster.talosctl;
    const opts = { image: "reg.example/installer:v1.14.1", drain: true, drainTimeoutMs: 90_000 };
    if (minor >= 13) {
      await t.upgrade("10.5.0.2", opts);
      expect(await upgradeArgv(cluster)).toEqual([
        "upgrade",
        "--image",
        "reg.example/installer:v1.14.1",
        "--drain=true",
        "--drain-timeout",
        "90s",
      ]);
    } else {
      await expect(t.upgrade("10.5.0.2", opts)).rejects.toMatchObject({
        code: "TALOSCTL_UNSUPPORTED_OPTION",
        node: "10.5.0.2",
      });
    }
  });

  it("runs calls on several nodes with one result per node", async () => {
    const state = defaultState(clientVersion);
    state.nodes["10.5.0.3"].faults = { unreachable: true };
    cluster = await makeCluster(state);
    const t = cluster.talosctl;
    const results = await t.onNodes(["10.5.0.2", "10.5.0.3", "10.5.0.4"], (n) => t.extensions(n));
    expect(results.map((r) => [r.node, r.ok])).toEqual([
      ["10.5.0.2", true],
      ["10.5.0.3", false],
      ["10.5.0.4", true],
    ]);
    const bad = results[1]!;
    expect(bad.ok === false && bad.error.code).toBe("TALOSCTL_NODE_UNREACHABLE");
  });
});

describe("version-specific refusals", () => {
  it("refuses options the path would ignore", async () => {
    cluster = await makeCluster(defaultState("v1.14.0"));
    const t = cluster.talosctl;
    const image = "reg.example/installer:v1.14.1";
    await expect(t.upgrade("10.5.0.2", { image, force: true })).rejects.toMatchObject({
      code: "TALOSCTL_UNSUPPORTED_OPTION",
    });
    await expect(t.upgrade("10.5.0.2", { image, wait: false })).rejects.toMatchObject({
      code: "TALOSCTL_UNSUPPORTED_OPTION",
    });
    await expect(t.upgrade("10.5.0.2", { image, stage: true, drain: true })).rejects.toMatchObject({
      code: "TALOSCTL_UNSUPPORTED_OPTION",
    });
    await expect(t.upgrade("10.5.0.2", { image: "" })).rejects.toMatchObject({
      code: "TALOSCTL_INVALID_ARGUMENT",
    });
    // Nothing ran for the refusals but the version queries.
    expect((await cluster.calls()).some((a) => a.includes("upgrade"))).toBe(false);
  });

  it("takes the legacy path (explicitly) for a 1.14 client against a 1.12 node", async () => {
    cluster = await makeCluster(defaultState("v1.14.0", "v1.12.6"));
    const t = cluster.talosctl;
    const r = await t.upgrade("10.5.0.4", {
      image: "reg.example/installer:v1.14.1",
      rebootMode: "powercycle",
    });
    expect(r.path).toBe("legacy");
    expect(await upgradeArgv(cluster)).toEqual([
      "upgrade",
      "--image",
      "reg.example/installer:v1.14.1",
      "--legacy",
      "--reboot-mode",
      "powercycle",
    ]);
    await expect(
      t.upgrade("10.5.0.2", { image: "reg.example/installer:v1.14.1", drain: true }),
    ).rejects.toMatchObject({
      code: "TALOSCTL_UNSUPPORTED_OPTION",
    });
    await expect(
      t.upgrade("10.5.0.2", { image: "reg.example/installer:v1.14.1", rebootMode: "force" }),
    ).rejects.toMatchObject({
      code: "TALOSCTL_UNSUPPORTED_OPTION",
    });
    // Staging on the legacy path is --stage --legacy, not --no-reboot.
    await t.upgrade("10.5.0.3", { image: "reg.example/installer:v1.14.1", stage: true });
    expect(await upgradeArgv(cluster)).toEqual([
      "upgrade",
      "--image",
      "reg.example/installer:v1.14.1",
      "--stage",
      "--legacy",
    ]);
  });

  it("a binary swapped for an older one rejects the flags: TALOSCTL_USAGE", async () => {
    cluster = await makeCluster(defaultState("v1.14.0"));
    const { readFile, writeFile } = await import("node:fs/promises");
    const s = JSON.parse(await readFile(cluster.statePath, "utf8"));
    s.clientVersion = "v1.12.5";
    await writeFile(cluster.statePath, JSON.stringify(s));
    await expect(
      cluster.talosctl.upgrade("10.5.0.4", { image: "reg.example/installer:v1.14.1", stage: true }),
    ).rejects.toMatchObject({
      code: "TALOSCTL_USAGE",
      node: "10.5.0.4",
      exitCode: 1,
    });
  });

  it("the double rejects flags a version does not have", async () => {
    cluster = await makeCluster(defaultState("v1.14.0"));
    const { execa } = await import("execa");
    const r = await execa(
      cluster.talosctl.binary,
      ["--nodes", "10.5.0.2", "upgrade", "--insecure", "--image", "x"],
      {
        env: cluster.env,
        reject: false,
      },
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^unknown flag: --insecure/);
    const r12 = await makeCluster(defaultState("v1.12.5"));
    const r2 = await execa(
      r12.talosctl.binary,
      ["--nodes", "10.5.0.2", "upgrade", "--no-reboot", "--image", "x"],
      {
        env: r12.env,
        reject: false,
      },
    );
    expect(r2.stderr).toMatch(/^unknown flag: --no-reboot/);
    await r12.cleanup();
  });
});
