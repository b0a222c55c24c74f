/**
 * Opt-in: the read-only calls against a real cluster. Runs when TALOSCONFIG names a talosconfig
 * and TALOS_EXT_TEST_NODES lists nodes (comma-separated; the first control plane is used for
 * health and etcd). TALOSCTL may name the binary. Nothing here changes the cluster.
 */
import { describe, expect, it } from "vitest";
import { createTalosctl } from "../src/index.ts";

const nodes = (process.env.TALOS_EXT_TEST_NODES ?? "")
  .split(",")
  .map((n) => n.trim())
  .filter(Boolean);
const enabled = Boolean(process.env.TALOSCONFIG) && nodes.length > 0;

if (!enabled) {
  console.info(
    "real-cluster suite skipped: set TALOSCONFIG and TALOS_EXT_TEST_NODES (e.g. 10.5.0.2,10.5.0.3) to run it",
  );
}

describe.skipIf(!enabled)("against a real cluster (read-only)", () => {
  it("reads every node, one call per node", async () => {
    const t = await createTalosctl({ talosconfig: process.env.TALOSCONFIG });
    const versions = await t.onNodes(nodes, (n) => t.version(n));
    for (const r of versions) {
      expect(r.ok, r.ok ? "" : `${r.node}: ${r.error.code} ${r.error.message}`).toBe(true);
      if (r.ok) expect(r.value.tag).toMatch(/^v\d+\.\d+\.\d+/);
    }
    let controlPlane: string | undefined;
    for (const node of nodes) {
      const role = await t.machineType(node);
      expect(["controlplane", "worker", "init"]).toContain(role);
      if (role !== "worker") controlPlane ??= node;
      for (const ext of await t.extensions(node)) expect(ext.name).not.toBe("");
      const services = await t.services(node);
      expect(services.some((s) => s.id === "apid")).toBe(true);
      expect((await t.service(node, "apid")).state).not.toBe("");
      await t.get(node, "machinestatus");
      await t.get(node, "extensions", undefined, { output: "yaml" });
    }
    if (controlPlane) {
      expect((await t.etcdMembers(controlPlane)).length).toBeGreaterThan(0);
      expect((await t.etcdStatus(controlPlane)).memberId).toMatch(/^[0-9a-f]+$/);
      await t.health(controlPlane, { waitTimeoutMs: 60_000 });
    }
  });
});
