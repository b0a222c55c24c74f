/** Reading a node through @talos-ext/talosctl (against tools/doubles/talosctl: no cluster runs here). */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTalosctl } from "@talos-ext/talosctl";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readNodeExtensions } from "../src/index.ts";

const DOUBLE = fileURLToPath(new URL("../../../tools/doubles/talosctl", import.meta.url));
const ID = "613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "talos-ext-node-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("node extensions through @talos-ext/talosctl", () => {
  it("reads the set, ignores modules.dep and decodes the schematic", async () => {
    const extensions = [
      {
        name: "iscsi-tools",
        version: "v0.2.0",
        author: "Sidero Labs",
        description: "iSCSI\n",
        compatibility: ">= v1.10.0",
      },
      {
        name: "multipath-tools",
        version: "0.0.4",
        author: "Reza Chalak",
        description: "mp\n",
        compatibility: ">= v1.1.0",
      },
      {
        name: "schematic",
        version: ID,
        author: "Image Factory (https://factory.talos.dev)",
        description: "Virtual extension which specifies the schematic of the image built with schematic.",
        compatibility: ">= 1.0.0",
        extraInfo:
          "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/iscsi-tools\n            - siderolabs/util-linux-tools\n",
      },
      {
        id: "modules.dep",
        name: "modules.dep",
        version: "6.12.40-talos",
        author: "Talos Machinery",
        description: "Combined modules.dep for all extensions",
      },
    ];
    const state = {
      clientVersion: "v1.14.0",
      images: {},
      etcd: { leader: "cp-1" },
      nodes: {
        "10.5.0.2": {
          hostname: "cp-1",
          role: "controlplane",
          boot: { current: { version: "v1.11.2", image: "x/installer:v1.11.2", extensions } },
        },
      },
    };
    const statePath = join(dir, "state.json");
    await writeFile(statePath, JSON.stringify(state));
    const talosctl = await createTalosctl({
      binary: DOUBLE,
      env: { TALOSCTL_DOUBLE_STATE: statePath, TALOSCTL_DOUBLE_NODE: process.execPath, TALOSCONFIG: "" },
    });
    const set = await readNodeExtensions(talosctl, "10.5.0.2");
    expect(set.node).toBe("10.5.0.2");
    expect(set.entries.map((e) => [e.name, e.version, e.talos])).toEqual([
      ["iscsi-tools", "v0.2.0", ">= v1.10.0"],
      ["multipath-tools", "0.0.4", ">= v1.1.0"],
    ]);
    expect(set.modulesDep).toBe(true);
    expect(set.schematic).toMatchObject({ id: ID, idMatches: true, factoryUrl: "https://factory.talos.dev" });
  });
});
