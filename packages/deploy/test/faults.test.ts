/**
 * Every fault the double injects gives a coded error naming the node and the step, the report
 * says what state the node is in, and no further node is touched.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  applyPlan,
  connect,
  createInterrupt,
  DeployError,
  type DeployPlan,
  type DeployReport,
  planDeploy,
} from "../src/index.ts";
import {
  type Cluster,
  clusterState,
  DOUBLE,
  type DoubleState,
  FAST,
  installer,
  makeCluster,
} from "./cluster.ts";

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.cleanup();
  cluster = undefined;
});

const NODES = ["10.5.0.2", "10.5.0.3", "10.5.0.4", "10.5.0.5"];

async function planFor(s: DoubleState, opts: { maxParallel?: number } = {}): Promise<DeployPlan> {
  cluster = await makeCluster(s);
  return planDeploy({
    talosctl: cluster.talosctl,
    nodes: NODES,
    installer: installer("v1.14.1"),
    timeouts: FAST,
    ...opts,
  });
}

/** Plans on a clean cluster, then injects the fault (as a node that breaks during the run). */
async function runWithFault(
  node: string,
  faults: Record<string, unknown>,
  extra: Partial<Parameters<typeof applyPlan>[1]> = {},
) {
  const plan = await planFor(clusterState());
  const s = await cluster!.state();
  s.nodes[node].faults = faults;
  await cluster!.setState(s);
  return applyPlan(plan, { talosctl: cluster!.talosctl, ...extra });
}

function outcomes(r: DeployReport) {
  return Object.fromEntries(r.nodes.map((n) => [n.node, n.outcome]));
}

async function upgraded(): Promise<string[]> {
  return cluster!.nodesOf("upgrade");
}

async function thrown(p: Promise<unknown>): Promise<DeployError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DeployError) return e;
    throw e;
  }
  throw new Error("expected a DeployError");
}

describe("client faults", () => {
  it("no talosctl", async () => {
    const e = await thrown(connect({ binary: "/nonexistent/talosctl" }));
    expect(e).toMatchObject({
      code: "DEPLOY_TALOSCTL_NOT_FOUND",
      step: "connect",
      talosctlCode: "TALOSCTL_NOT_FOUND",
    });
  });

  it("a talosctl of an unsupported version", async () => {
    cluster = await makeCluster(clusterState());
    const s = clusterState("v1.11.2");
    await cluster.setState(s);
    const e = await thrown(connect({ binary: DOUBLE, env: cluster.env }));
    expect(e).toMatchObject({ code: "DEPLOY_TALOSCTL_UNSUPPORTED", step: "connect" });
    expect(e.message).toContain("v1.11.2");
  });

  it("a bad talosconfig: unreadable file, and certificates the nodes refuse", async () => {
    cluster = await makeCluster(clusterState());
    const e = await thrown(
      connect({ binary: DOUBLE, env: cluster.env, talosconfig: `${cluster.dir}/missing` }),
    );
    expect(e).toMatchObject({ code: "DEPLOY_TALOSCONFIG_INVALID", step: "connect" });
    const s = await cluster.state();
    s.nodes["10.5.0.3"].faults = { auth: true };
    await cluster.setState(s);
    const p = await thrown(
      planDeploy({
        talosctl: cluster.talosctl,
        nodes: NODES,
        installer: installer("v1.14.1"),
        timeouts: FAST,
      }),
    );
    expect(p).toMatchObject({
      code: "DEPLOY_TALOSCONFIG_INVALID",
      node: "10.5.0.3",
      step: "inspect",
      talosctlCode: "TALOSCTL_AUTH",
    });
  });
});

describe("node faults", () => {
  it("unreachable node at planning: refused, nothing upgraded", async () => {
    const s = clusterState();
    s.nodes["10.5.0.4"].faults = { unreachable: true };
    cluster = await makeCluster(s);
    const e = await thrown(
      planDeploy({
        talosctl: cluster.talosctl,
        nodes: NODES,
        installer: installer("v1.14.1"),
        timeouts: FAST,
      }),
    );
    expect(e).toMatchObject({ code: "DEPLOY_NODE_UNREACHABLE", node: "10.5.0.4", step: "inspect" });
    expect(await upgraded()).toEqual([]);
  });

  it("unreachable node at apply (after planning): preflight stops before any upgrade", async () => {
    const r = await runWithFault("10.5.0.5", { unreachable: true });
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({ code: "DEPLOY_NODE_UNREACHABLE", node: "10.5.0.5", step: "preflight" });
    expect(await upgraded()).toEqual([]);
    expect(Object.values(outcomes(r))).toEqual(["pending", "pending", "pending", "pending"]);
  });

  it("wrong version after the upgrade (node booted its old entry)", async () => {
    const plan = await planFor(clusterState());
    const s = await cluster!.state();
    s.images["reg.example/installer:v1.14.1"].version = "v1.14.0";
    await cluster!.setState(s);
    const r = await applyPlan(plan, { talosctl: cluster!.talosctl });
    expect(r.error).toMatchObject({
      code: "DEPLOY_VERSION_MISMATCH",
      node: "10.5.0.2",
      step: "verify-version",
      nodeState: "upgraded-unverified",
    });
    expect(await upgraded()).toEqual(["10.5.0.2"]);
    expect(outcomes(r)).toEqual({
      "10.5.0.2": "upgraded-unverified",
      "10.5.0.3": "pending",
      "10.5.0.4": "pending",
      "10.5.0.5": "pending",
    });
  });

  it("node never returns: timeout, unreachable, nothing further", async () => {
    const r = await runWithFault("10.5.0.3", { neverBack: true });
    expect(r.error).toMatchObject({
      code: "DEPLOY_NODE_NOT_BACK",
      node: "10.5.0.3",
      step: "upgrade",
      nodeState: "unreachable",
      talosctlCode: "TALOSCTL_REBOOT_TIMEOUT",
    });
    expect(await upgraded()).toEqual(["10.5.0.2", "10.5.0.3"]);
    expect(outcomes(r)).toEqual({
      "10.5.0.2": "upgraded",
      "10.5.0.3": "unreachable",
      "10.5.0.4": "pending",
      "10.5.0.5": "pending",
    });
    // Not even a read of a further node after the failing upgrade started.
    const calls = await cluster!.calls();
    const at = calls.findIndex((a) => a.includes("upgrade") && a.includes("10.5.0.3"));
    const later = calls.slice(at + 1).map((a) => a[a.indexOf("--nodes") + 1]);
    expect(later.filter((n) => n === "10.5.0.4" || n === "10.5.0.5")).toEqual([]);
  });

  it("extension missing after reboot", async () => {
    const r = await runWithFault("10.5.0.2", { dropExtensions: ["drbd"] });
    expect(r.error).toMatchObject({
      code: "DEPLOY_EXTENSIONS_MISMATCH",
      node: "10.5.0.2",
      step: "verify-extensions",
      nodeState: "upgraded-unverified",
    });
    expect(String(r.error!.message)).toContain("missing drbd 9.3.3-v1.14.1");
    expect(await upgraded()).toEqual(["10.5.0.2"]);
  });

  it("service not running after reboot, and rollbackOnFailure returns the node to its old version", async () => {
    const r = await runWithFault(
      "10.5.0.4",
      { serviceFails: ["ext-multipathd"] },
      { rollbackOnFailure: true, clusterHealth: false },
    );
    expect(r.error).toMatchObject({
      code: "DEPLOY_SERVICE_NOT_RUNNING",
      node: "10.5.0.4",
      step: "verify-services",
      nodeState: "rolled-back",
    });
    expect(String(r.error!.message)).toContain("ext-multipathd is Waiting");
    expect(outcomes(r)["10.5.0.4"]).toBe("rolled-back");
    expect(r.nodes.find((n) => n.node === "10.5.0.4")!.finalVersion).toBe("v1.13.4");
    expect((await cluster!.state()).nodes["10.5.0.4"].boot.current.version).toBe("v1.13.4");
    expect(await cluster!.nodesOf("rollback")).toEqual(["10.5.0.4"]);
    // 10.5.0.5 shares the batch (maxParallel 1 here: it is the next batch) and is not touched.
    expect(await upgraded()).toEqual(["10.5.0.2", "10.5.0.3", "10.5.0.4"]);
  });

  it("etcd member unhealthy before a control plane", async () => {
    const plan = await planFor(clusterState());
    const s = await cluster!.state();
    s.nodes["10.5.0.3"].etcd = { errors: ["etcdserver: mvcc: database space exceeded"] };
    await cluster!.setState(s);
    const bad = await applyPlan(plan, { talosctl: cluster!.talosctl });
    expect(bad.error).toMatchObject({
      code: "DEPLOY_ETCD_UNHEALTHY",
      node: "10.5.0.2",
      step: "etcd-before",
      nodeState: "unchanged",
    });
    expect(String(bad.error!.message)).toContain("cp-2");
    expect(await upgraded()).toEqual([]);
  });

  it("failed drain: the node is armed; with rollback it is disarmed", async () => {
    const r = await runWithFault("10.5.0.3", { drainFails: true });
    expect(r.error).toMatchObject({
      code: "DEPLOY_DRAIN_FAILED",
      node: "10.5.0.3",
      step: "upgrade",
      nodeState: "armed",
    });
    expect(outcomes(r)["10.5.0.3"]).toBe("armed");
    expect((await cluster!.state()).nodes["10.5.0.3"].boot.pending.version).toBe("v1.14.1");
    expect(await upgraded()).toEqual(["10.5.0.2", "10.5.0.3"]);
    await cluster!.cleanup();
    const rb = await runWithFault("10.5.0.3", { drainFails: true }, { rollbackOnFailure: true });
    expect(outcomes(rb)["10.5.0.3"]).toBe("rolled-back");
    expect((await cluster!.state()).nodes["10.5.0.3"].boot.pending ?? null).toBeNull();
  });

  it("a rollback that cannot bring the node back is reported next to the failure", async () => {
    const r = await runWithFault(
      "10.5.0.4",
      { dropExtensions: ["drbd"], neverBack: false },
      { rollbackOnFailure: true, clusterHealth: false },
    );
    expect(outcomes(r)["10.5.0.4"]).toBe("rolled-back");
    await cluster!.cleanup();
    const plan = await planFor(clusterState());
    const s = await cluster!.state();
    s.nodes["10.5.0.2"].faults = { dropExtensions: ["drbd"] };
    await cluster!.setState(s);
    // After the upgrade the node never returns from its rollback.
    const report = await applyPlan(plan, {
      talosctl: cluster!.talosctl,
      rollbackOnFailure: true,
      onEvent: (e) => {
        if (e.type === "step" && e.step === "verify-version" && e.node === "10.5.0.2") {
          void cluster!.state().then((st) => {
            st.nodes["10.5.0.2"].faults.neverBack = true;
            return cluster!.setState(st);
          });
        }
      },
    });
    expect(report.error).toMatchObject({ code: "DEPLOY_EXTENSIONS_MISMATCH", node: "10.5.0.2" });
    const n = report.nodes[0]!;
    expect(n.rollbackError).toMatchObject({
      code: "DEPLOY_ROLLBACK_FAILED",
      node: "10.5.0.2",
      step: "rollback",
    });
    expect(n.outcome).toBe("unreachable");
  });

  it("an installer that fails leaves the node unchanged", async () => {
    const r = await runWithFault("10.5.0.2", {
      upgradeFails: { exitCode: 3, output: ["no space left on device"] },
    });
    expect(r.error).toMatchObject({
      code: "DEPLOY_UPGRADE_FAILED",
      node: "10.5.0.2",
      step: "upgrade",
      nodeState: "unchanged",
    });
    expect(await upgraded()).toEqual(["10.5.0.2"]);
  });
});

describe("interrupts", () => {
  it("first abort: the node in flight finishes, then the report; nothing further", async () => {
    const plan = await planFor(clusterState());
    const int = createInterrupt();
    const r = await applyPlan(plan, {
      talosctl: cluster!.talosctl,
      signal: int.signal,
      hardSignal: int.hardSignal,
      onEvent: (e) => {
        if (e.type === "node-start" && e.node === "10.5.0.2") int.interrupt();
      },
    });
    expect(r.aborted).toBe(true);
    expect(r.error).toMatchObject({ code: "DEPLOY_ABORTED" });
    expect(outcomes(r)).toEqual({
      "10.5.0.2": "upgraded",
      "10.5.0.3": "pending",
      "10.5.0.4": "pending",
      "10.5.0.5": "pending",
    });
    expect(await upgraded()).toEqual(["10.5.0.2"]);
  });

  it("second abort: stops at once, talosctl is terminated, the node is reported interrupted", async () => {
    const plan = await planFor(clusterState());
    const s = await cluster!.state();
    s.nodes["10.5.0.2"].faults = { slowMs: 3000 };
    await cluster!.setState(s);
    const int = createInterrupt();
    // The second interrupt comes while talosctl upgrade runs (seen in the double's call log),
    // however slow the machine is.
    const whileUpgrading = async () => {
      while ((await upgraded()).length === 0) await new Promise((res) => setTimeout(res, 20));
      int.interrupt();
    };
    const r = await applyPlan(plan, {
      talosctl: cluster!.talosctl,
      signal: int.signal,
      hardSignal: int.hardSignal,
      onEvent: (e) => {
        if (e.type === "node-start") {
          int.interrupt();
          void whileUpgrading();
        }
      },
    });
    expect(r.error).toMatchObject({ code: "DEPLOY_ABORTED", node: "10.5.0.2", nodeState: "interrupted" });
    expect(outcomes(r)["10.5.0.2"]).toBe("interrupted");
    expect((await cluster!.state()).nodes["10.5.0.2"].boot.current.version).toBe("v1.13.4");
    expect(await upgraded()).toEqual(["10.5.0.2"]);
  });
});
