/**
 * Applying plans against the cluster double: one talosctl upgrade per node and only for that
 * node, control planes one by one with etcd checked before each, workers in batches, every node
 * verified, a second run skips everything, hops run phase by phase, events and report.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { applyPlan, type DeployEvent, formatReport, planDeploy } from "../src/index.ts";
import { type Cluster, clusterState, FAST, installer, makeCluster } from "./cluster.ts";

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.cleanup();
  cluster = undefined;
});

const NODES = ["10.5.0.4", "10.5.0.2", "10.5.0.5", "10.5.0.3"];

describe("applyPlan", () => {
  it("upgrades every node once, in order, verifies it, and a second run skips them all", async () => {
    cluster = await makeCluster(clusterState());
    const plan = await planDeploy({
      talosctl: cluster.talosctl,
      nodes: NODES,
      installer: installer("v1.14.1"),
      maxParallel: 2,
      timeouts: FAST,
    });
    const events: DeployEvent[] = [];
    const reportFile = join(cluster.dir, "report.json");
    const report = await applyPlan(plan, {
      talosctl: cluster.talosctl,
      onEvent: (e) => events.push(e),
      reportFile,
    });
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.nodes.map((n) => [n.node, n.outcome, n.finalVersion])).toEqual([
      ["10.5.0.2", "upgraded", "v1.14.1"],
      ["10.5.0.3", "upgraded", "v1.14.1"],
      ["10.5.0.4", "upgraded", "v1.14.1"],
      ["10.5.0.5", "upgraded", "v1.14.1"],
    ]);
    // One call per node, exactly the planned argv, control planes strictly first and in order.
    const upgrades = (await cluster.calls()).filter((a) => a.includes("upgrade"));
    expect(upgrades.map((a) => a[a.indexOf("--nodes") + 1])).toEqual(
      expect.arrayContaining(["10.5.0.2", "10.5.0.3", "10.5.0.4", "10.5.0.5"]),
    );
    expect(upgrades.slice(0, 2).map((a) => a[a.indexOf("--nodes") + 1])).toEqual(["10.5.0.2", "10.5.0.3"]);
    expect(upgrades).toHaveLength(4);
    for (const p of plan.nodes) expect(upgrades).toContainEqual(p.hops[0]!.command.slice(1));
    for (const call of await cluster.calls()) {
      if (call.includes("--nodes")) expect(call[call.indexOf("--nodes") + 1]).not.toContain(",");
    }
    // etcd checked before each control plane, and its membership after it.
    const cpSteps = report.nodes[0]!.steps.map((s) => s.step);
    expect(cpSteps).toEqual([
      "etcd-before",
      "upgrade",
      "wait",
      "verify-version",
      "verify-extensions",
      "verify-services",
      "verify-health",
    ]);
    expect(report.nodes[2]!.steps.map((s) => s.step)).not.toContain("etcd-before");
    for (const n of report.nodes) for (const s of n.steps) expect(s.durationMs).toBeGreaterThanOrEqual(0);
    const state = await cluster.state();
    for (const n of NODES) {
      expect(state.nodes[n].boot.current.version).toBe("v1.14.1");
      expect(state.nodes[n].boot.previous.version).toBe("v1.13.4");
    }
    // Events: run-start first, run-done last, a node-done per node.
    expect(events[0]!.type).toBe("run-start");
    expect(events.at(-1)).toMatchObject({ type: "run-done", ok: true });
    expect(events.filter((e) => e.type === "node-done")).toHaveLength(4);
    // The workers of one batch ran at once: the second started before the first was done.
    const w1done = events.findIndex((e) => e.type === "node-done" && e.node === "10.5.0.4");
    const w2start = events.findIndex((e) => e.type === "node-start" && e.node === "10.5.0.5");
    expect(w2start).toBeLessThan(w1done);
    expect(JSON.parse(await readFile(reportFile, "utf8"))).toEqual(JSON.parse(JSON.stringify(report)));
    const text = formatReport(report);
    expect(text).toContain("done in");
    expect(text).toMatch(/10\.5\.0\.2\s+controlplane\s+upgraded\s+v1\.13\.4 -> v1\.14\.1\s+\[etcd-before/);
    expect(text).toContain("4 upgraded");

    // Resume: everything is at the target now.
    const again = await planDeploy({
      talosctl: cluster.talosctl,
      nodes: NODES,
      installer: installer("v1.14.1"),
      timeouts: FAST,
    });
    expect(again.nodes.every((n) => n.action === "skip")).toBe(true);
    const before = (await cluster.calls()).length;
    const second = await applyPlan(again, { talosctl: cluster.talosctl });
    expect(second.ok).toBe(true);
    expect(second.nodes.every((n) => n.outcome === "skipped")).toBe(true);
    expect((await cluster.calls()).slice(before).filter((a) => a.includes("upgrade"))).toEqual([]);
  });

  it("runs hops phase by phase: every node to the hop first, then to the target", async () => {
    cluster = await makeCluster(clusterState("v1.14.0", "v1.11.3", ["v1.13.4", "v1.14.1"]));
    const plan = await planDeploy({
      talosctl: cluster.talosctl,
      nodes: ["10.5.0.2", "10.5.0.4"],
      installer: installer("v1.14.1"),
      hopInstallers: [installer("v1.13.4")],
      timeouts: FAST,
    });
    const report = await applyPlan(plan, { talosctl: cluster.talosctl, clusterHealth: false });
    expect(report.error).toBeUndefined();
    const upgrades = (await cluster.calls()).filter((a) => a.includes("upgrade"));
    expect(upgrades.map((a) => [a[a.indexOf("--nodes") + 1], a[a.indexOf("--image") + 1]])).toEqual([
      ["10.5.0.2", "reg.example/installer:v1.13.4"],
      ["10.5.0.4", "reg.example/installer:v1.13.4"],
      ["10.5.0.2", "reg.example/installer:v1.14.1"],
      ["10.5.0.4", "reg.example/installer:v1.14.1"],
    ]);
    expect(report.nodes.map((n) => n.outcome)).toEqual(["upgraded", "upgraded"]);
    expect((await cluster.state()).nodes["10.5.0.4"].boot.current.version).toBe("v1.14.1");
  });
});
