/**
 * Planning against the cluster double: order and batches, the exact commands, extension diffs,
 * the upgrade window (hops or a refusal that spells them out), and every refusal as a code.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DeployError, formatPlan, hopChain, planDeploy, requiredHops, withinWindow } from "../src/index.ts";
import { mustParse } from "../src/window.ts";
import { type Cluster, clusterState, FAST, installer, makeCluster } from "./cluster.ts";

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.cleanup();
  cluster = undefined;
});

async function refusal(p: Promise<unknown>): Promise<DeployError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DeployError) return e;
    throw e;
  }
  throw new Error("expected a DeployError");
}

const NODES = ["10.5.0.4", "10.5.0.2", "10.5.0.5", "10.5.0.3"];

describe("upgrade window", () => {
  const v = mustParse;
  it("allows two minors up and refuses three; downgrades below N+2", () => {
    expect(withinWindow(v("v1.12.0"), v("v1.14.1"))).toBe(true);
    expect(withinWindow(v("v1.11.9"), v("v1.14.0"))).toBe(false);
    expect(withinWindow(v("v1.13.0"), v("v1.15.0"))).toBe(true);
    expect(withinWindow(v("v1.14.2"), v("v1.13.0"))).toBe(true);
    expect(withinWindow(v("v1.15.0"), v("v1.13.0"))).toBe(false);
  });
  it("chains hops through the installers given, and spells out the hops it needs", () => {
    expect(
      hopChain(v("v1.11.3"), v("v1.14.1"), [v("v1.12.5"), v("v1.13.4"), v("v1.14.1")])?.map((x) => x.tag),
    ).toEqual(["v1.13.4", "v1.14.1"]);
    expect(hopChain(v("v1.11.3"), v("v1.14.1"), [v("v1.14.1")])).toBeUndefined();
    expect(requiredHops(v("v1.11.3"), v("v1.14.1"))).toEqual(["v1.13.x", "v1.14.1"]);
    expect(requiredHops(v("v1.9.0"), v("v1.14.1"))).toEqual(["v1.11.x", "v1.13.x", "v1.14.1"]);
  });
});

describe("planDeploy", () => {
  it("orders control planes first, batches workers, and names the exact command per node", async () => {
    cluster = await makeCluster(clusterState());
    const plan = await planDeploy({
      talosctl: cluster.talosctl,
      nodes: NODES,
      installer: installer("v1.14.1"),
      maxParallel: 2,
      timeouts: FAST,
    });
    expect(plan.nodes.map((n) => [n.node, n.role])).toEqual([
      ["10.5.0.2", "controlplane"],
      ["10.5.0.3", "controlplane"],
      ["10.5.0.4", "worker"],
      ["10.5.0.5", "worker"],
    ]);
    expect(plan.phases).toEqual([
      {
        version: "v1.14.1",
        image: "reg.example/installer:v1.14.1",
        controlPlanes: ["10.5.0.2", "10.5.0.3"],
        workerBatches: [["10.5.0.4", "10.5.0.5"]],
      },
    ]);
    const cp = plan.nodes[0]!;
    expect(cp.currentVersion).toBe("v1.13.4");
    expect(cp.targetVersion).toBe("v1.14.1");
    expect(cp.hops).toHaveLength(1);
    expect(cp.hops[0]!.path).toBe("lifecycle");
    expect(cp.hops[0]!.command.slice(1)).toEqual([
      "--nodes",
      "10.5.0.2",
      "upgrade",
      "--image",
      "reg.example/installer:v1.14.1",
      "--drain-timeout",
      "1s",
      "--reboot-mode",
      "default",
      "--timeout",
      "300ms",
    ]);
    expect(cp.extensions.changed).toEqual([
      { name: "drbd", from: "9.3.3-v1.13.4", to: "9.3.3-v1.14.1" },
      { name: "multipath-tools", from: "0.13.0", to: "0.14.0" },
    ]);
    expect(cp.extensions.removed).toEqual([]);
    // Reading is all planning does: no upgrade ran.
    expect(await cluster.nodesOf("upgrade")).toEqual([]);
    expect(JSON.parse(JSON.stringify(plan)).nodes[0].hops[0].command).toEqual(cp.hops[0]!.command);
    const text = formatPlan(plan);
    expect(text).toMatch(/10\.5\.0\.2\s+controlplane\s+v1\.13\.4\s+v1\.14\.1\s+upgrade/);
    expect(text).toContain("10.5.0.2 -> 10.5.0.3 -> [10.5.0.4 10.5.0.5]");
    expect(text).toContain("--nodes 10.5.0.2 upgrade --image reg.example/installer:v1.14.1");
    expect(text).toContain("~multipath-tools 0.13.0->0.14.0");
    expect(plan.warnings.map((w) => w.code)).toContain("DEPLOY_IMAGE_VERIFICATION");
  });

  it("legacy flags for a 1.12 client, and a node already at the target is skipped", async () => {
    const s = clusterState("v1.12.5", "v1.12.3", ["v1.13.4"]);
    s.nodes["10.5.0.5"].boot.current = {
      version: "v1.13.4",
      extensions: s.images["reg.example/installer:v1.13.4"].extensions,
    };
    cluster = await makeCluster(s);
    const plan = await planDeploy({
      talosctl: cluster.talosctl,
      nodes: NODES,
      installer: installer("v1.13.4"),
      timeouts: FAST,
    });
    const w2 = plan.nodes.find((n) => n.node === "10.5.0.5")!;
    expect(w2.action).toBe("skip");
    expect(w2.hops).toEqual([]);
    expect(plan.phases[0]!.workerBatches).toEqual([["10.5.0.4"]]);
    const w1 = plan.nodes.find((n) => n.node === "10.5.0.4")!;
    expect(w1.hops[0]!.path).toBe("legacy");
    expect(w1.hops[0]!.command).not.toContain("--drain-timeout");
    expect(formatPlan(plan)).toContain("skip (at target)");
  });

  it("plans hops through hop installers, phase by phase", async () => {
    cluster = await makeCluster(clusterState("v1.14.0", "v1.11.3", ["v1.13.4", "v1.14.1"]));
    const plan = await planDeploy({
      talosctl: cluster.talosctl,
      nodes: NODES,
      installer: installer("v1.14.1"),
      hopInstallers: [installer("v1.13.4")],
      timeouts: FAST,
    });
    expect(plan.phases.map((p) => p.version)).toEqual(["v1.13.4", "v1.14.1"]);
    const hops = plan.nodes[0]!.hops;
    expect(hops.map((h) => [h.fromVersion, h.version, h.path])).toEqual([
      ["v1.11.3", "v1.13.4", "legacy"],
      ["v1.13.4", "v1.14.1", "lifecycle"],
    ]);
    expect(formatPlan(plan)).toContain("phase 2 (v1.14.1)");
  });

  it("refuses a target outside the window and spells out the hops", async () => {
    cluster = await makeCluster(clusterState("v1.14.0", "v1.11.3"));
    const e = await refusal(
      planDeploy({
        talosctl: cluster.talosctl,
        nodes: NODES,
        installer: installer("v1.14.1"),
        timeouts: FAST,
      }),
    );
    expect(e).toMatchObject({ code: "DEPLOY_UPGRADE_WINDOW", node: "10.5.0.2", step: "plan" });
    expect(e.message).toContain("v1.11.3 -> v1.13.x -> v1.14.1");
  });

  it("refuses an installer that drops an extension a node runs, unless asked", async () => {
    cluster = await makeCluster(clusterState());
    const inst = installer("v1.14.1");
    inst.extensions = inst.extensions.filter((e) => e.name !== "drbd");
    const e = await refusal(
      planDeploy({ talosctl: cluster.talosctl, nodes: NODES, installer: inst, timeouts: FAST }),
    );
    expect(e).toMatchObject({ code: "DEPLOY_INSTALLER_MISSING_EXTENSION", node: "10.5.0.2", step: "plan" });
    expect(e.message).toContain("drbd");
    const plan = await planDeploy({
      talosctl: cluster.talosctl,
      nodes: NODES,
      installer: inst,
      remove: ["drbd"],
      timeouts: FAST,
    });
    expect(plan.nodes[0]!.extensions.removed).toEqual([{ name: "drbd", from: "9.3.3-v1.13.4" }]);
    expect(plan.warnings.map((w) => w.code)).toContain("DEPLOY_EXTENSION_REMOVED");
    const expectMore = await refusal(
      planDeploy({
        talosctl: cluster.talosctl,
        nodes: NODES,
        installer: installer("v1.14.1"),
        expect: ["iscsi-tools"],
        timeouts: FAST,
      }),
    );
    expect(expectMore).toMatchObject({ code: "DEPLOY_INSTALLER_MISSING_EXTENSION" });
    expect(expectMore.message).toContain("iscsi-tools");
  });

  it("refuses an installer whose extension does not fit its Talos version", async () => {
    cluster = await makeCluster(clusterState());
    const inst = installer("v1.14.1");
    inst.extensions[0]!.compatibility = ">= v1.15.0";
    const e = await refusal(
      planDeploy({ talosctl: cluster.talosctl, nodes: NODES, installer: inst, timeouts: FAST }),
    );
    expect(e).toMatchObject({ code: "DEPLOY_INSTALLER_INCOMPATIBLE", step: "plan" });
    expect(e.message).toContain("can't be satisfied with Talos version 1.14.1");
  });

  it("refuses a node the previous run left armed", async () => {
    cluster = await makeCluster(clusterState());
    const e = await refusal(
      planDeploy({
        talosctl: cluster.talosctl,
        nodes: NODES,
        installer: installer("v1.14.1"),
        previousReport: { nodes: [{ node: "10.5.0.4", outcome: "armed" }] },
        timeouts: FAST,
      }),
    );
    expect(e).toMatchObject({ code: "DEPLOY_NODE_ARMED", node: "10.5.0.4", step: "preflight" });
  });

  it("refuses a node with a staged (legacy) upgrade, seen in META 0x07", async () => {
    cluster = await makeCluster(clusterState("v1.12.5", "v1.12.3", ["v1.13.4"]));
    await cluster.talosctl.upgrade("10.5.0.5", { image: "reg.example/installer:v1.13.4", stage: true });
    const e = await refusal(
      planDeploy({
        talosctl: cluster.talosctl,
        nodes: NODES,
        installer: installer("v1.13.4"),
        timeouts: FAST,
      }),
    );
    expect(e).toMatchObject({
      code: "DEPLOY_NODE_ARMED",
      node: "10.5.0.5",
      step: "inspect",
      nodeState: "armed",
    });
    expect(e.message).toContain("reg.example/installer:v1.13.4");
  });

  it("bad input is DEPLOY_INVALID_INPUT before any node is read", async () => {
    cluster = await makeCluster(clusterState());
    const base = { talosctl: cluster.talosctl, installer: installer("v1.14.1"), timeouts: FAST };
    for (const [opts, text] of [
      [{ ...base, nodes: [] }, "no nodes"],
      [{ ...base, nodes: ["10.5.0.2", "10.5.0.2"] }, "listed twice"],
      [{ ...base, nodes: NODES, maxParallel: 0 }, "maxParallel"],
      [
        { ...base, nodes: NODES, installer: { ...installer("v1.14.1"), talosVersion: "1.14" } },
        "talosVersion",
      ],
      [{ ...base, nodes: NODES, installer: { ...installer("v1.14.1"), extra: 1 } }, "extra"],
      [{ ...base, nodes: NODES, installer: { ...installer("v1.14.1"), digest: "sha256:xyz" } }, "digest"],
    ] as const) {
      // biome-ignore lint/suspicious/noExplicitAny: deliberately malformed input
      const e = await refusal(planDeploy(opts as any));
      expect(e.code).toBe("DEPLOY_INVALID_INPUT");
      expect(e.message).toContain(text);
    }
    expect(await cluster.calls()).toHaveLength(1); // only `version --client` from connect()
  });
});
