import { RegistryClient } from "@talos-ext/image";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRegistry, startRegistry } from "../../../tools/harness/registry.ts";
import {
  canonicalSchematic,
  desiredSet,
  diffSets,
  type ExtensionSetEntry,
  extensionEntry,
  nodeExtensions,
  parseCatalog,
  readOfficialCatalog,
} from "../src/index.ts";
import { pushFilesImage } from "./registry-image.ts";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const DIGESTS = [
  `ghcr.io/siderolabs/iscsi-tools:v0.2.0@${D("1")}`,
  `ghcr.io/siderolabs/util-linux-tools:2.41.1@${D("2")}`,
  `ghcr.io/siderolabs/qemu-guest-agent:10.0.2@${D("3")}`,
  `ghcr.io/siderolabs/nvidia-fabricmanager-lts:570.172.08@${D("4")}`,
  `ghcr.io/siderolabs/nvidia-fabric-manager-lts:570.172.08@${D("5")}`,
  "",
].join("\n");
const DESCRIPTIONS = `${DIGESTS.split("\n")[0]}:\n  author: Sidero Labs\n  description: |\n    This system extension provides iSCSI tools.\n`;

// What `talosctl get extensions -o json` prints for a factory-built node (Talos >= 1.7).
const SCHEMATIC_YAML =
  "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/iscsi-tools\n            - siderolabs/util-linux-tools\n";
const NODE = [
  {
    node: "10.5.0.2",
    metadata: {
      namespace: "runtime",
      type: "ExtensionStatuses.runtime.talos.dev",
      id: 0,
      version: 1,
      phase: "running",
    },
    spec: {
      image: "0.sqsh",
      metadata: {
        name: "iscsi-tools",
        version: "v0.1.6",
        author: "Sidero Labs",
        description: "iSCSI\n",
        compatibility: { talos: { version: ">= v1.6.0" } },
      },
    },
  },
  {
    node: "10.5.0.2",
    metadata: { id: 1 },
    spec: {
      image: "1.sqsh",
      metadata: { name: "util-linux-tools", version: "2.40.4", author: "Sidero Labs" },
    },
  },
  {
    node: "10.5.0.2",
    metadata: { id: 2 },
    spec: {
      image: "2.sqsh",
      metadata: {
        name: "multipath-tools",
        version: "0.0.4",
        author: "Reza Chalak",
        compatibility: { talos: { version: ">= v1.1.0" } },
      },
    },
  },
  {
    node: "10.5.0.2",
    metadata: { id: 3 },
    spec: {
      image: "3.sqsh",
      metadata: {
        name: "schematic",
        version: "613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245",
        author: "Image Factory Enterprise (https://factory.example.com)",
        compatibility: { talos: { version: ">= 1.0.0" } },
        extraInfo: SCHEMATIC_YAML,
      },
    },
  },
  {
    node: "10.5.0.2",
    metadata: { id: "modules.dep" },
    spec: {
      image: "modules.dep.sqsh",
      metadata: { name: "modules.dep", version: "6.12.40-talos", author: "Talos Machinery" },
    },
  },
];

describe("node extensions as data", () => {
  it("keeps real extensions in order, ignores modules.dep, decodes the schematic", () => {
    const n = nodeExtensions(NODE);
    expect(n.node).toBe("10.5.0.2");
    expect(n.entries.map((e) => [e.name, e.version, e.origin])).toEqual([
      ["iscsi-tools", "v0.1.6", "node"],
      ["util-linux-tools", "2.40.4", "node"],
      ["multipath-tools", "0.0.4", "node"],
    ]);
    expect(n.entries[0]?.talos).toBe(">= v1.6.0");
    expect(n.modulesDep).toBe(true);
    expect(n.schematic).toMatchObject({
      id: "613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245",
      idMatches: true,
      factoryUrl: "https://factory.example.com",
    });
    expect(canonicalSchematic(n.schematic?.schematic ?? {})).toBe(SCHEMATIC_YAML);
  });

  it("accepts the flat records of @talos-ext/talosctl and an empty list (vanilla node)", () => {
    expect(nodeExtensions([])).toEqual({ entries: [], modulesDep: false });
    const flat = nodeExtensions([
      {
        node: "n",
        id: "0",
        image: "0.sqsh",
        name: "gvisor",
        version: "20250505.0",
        author: "",
        description: "",
        compatibility: ">= v1.9.0",
        virtual: false,
      },
    ]);
    expect(flat.entries).toEqual([
      {
        name: "gvisor",
        version: "20250505.0",
        talos: ">= v1.9.0",
        origin: "node",
        author: "",
        description: "",
      },
    ]);
  });

  it("refuses data that is not ExtensionStatus", () => {
    expect(() => nodeExtensions([{ spec: {} }])).toThrow(
      expect.objectContaining({ code: "EXTSET_NODE_DATA_INVALID" }),
    );
    expect(() => nodeExtensions(["x"])).toThrow(
      expect.objectContaining({ code: "EXTSET_NODE_DATA_INVALID" }),
    );
    expect(() =>
      nodeExtensions([{ spec: { metadata: { name: "schematic", version: "x", extraInfo: "bogus: [" } } }]),
    ).toThrow(expect.objectContaining({ code: "EXTSET_NODE_DATA_INVALID" }));
  });
});

describe("official catalog", () => {
  it("parses image-digests and descriptions.yaml as the factory does", () => {
    const c = parseCatalog(DIGESTS, DESCRIPTIONS, "v1.11.2");
    expect(c.extensions).toHaveLength(5);
    expect(c.extensions[0]).toEqual({
      repository: "siderolabs/iscsi-tools",
      name: "iscsi-tools",
      tag: "v0.2.0",
      digest: D("1"),
      image: `ghcr.io/siderolabs/iscsi-tools:v0.2.0@${D("1")}`,
      author: "Sidero Labs",
      description: "This system extension provides iSCSI tools.\n",
    });
    expect(c.find("siderolabs/iscsi-tools")?.tag).toBe("v0.2.0");
    expect(c.find("iscsi-tools")?.tag).toBe("v0.2.0");
    // The factory's alias (with its hyphen) is what a schematic name resolves to.
    expect(c.find("siderolabs/nvidia-fabricmanager")?.repository).toBe(
      "siderolabs/nvidia-fabric-manager-lts",
    );
    expect(c.find("siderolabs/iscsi-tool")).toBeUndefined();
    expect(c.suggest("iscsi-tool")).toBe("iscsi-tools");
  });

  it("refuses malformed catalogs", () => {
    expect(() => parseCatalog("")).toThrow(expect.objectContaining({ code: "EXTSET_CATALOG_INVALID" }));
    expect(() => parseCatalog("ghcr.io/siderolabs/x@sha256:zz\n")).toThrow(
      expect.objectContaining({ code: "EXTSET_CATALOG_INVALID" }),
    );
    expect(() => parseCatalog(DIGESTS, "- a\n")).toThrow(
      expect.objectContaining({ code: "EXTSET_CATALOG_INVALID" }),
    );
  });

  describe("from a real registry", () => {
    let reg: RunningRegistry;
    let client: RegistryClient;
    beforeAll(async () => {
      reg = await startRegistry();
      client = new RegistryClient({ insecure: true, retryDelayMs: 20 });
    });
    afterAll(async () => {
      client?.close();
      await reg?.stop();
    });

    it("reads both files from the catalog image (index, two layers, later layer wins)", async () => {
      await pushFilesImage(
        client,
        `${reg.url}/siderolabs/extensions:v1.11.2`,
        [
          [{ path: "image-digests", data: "ghcr.io/siderolabs/old:v1@" + D("9") + "\n" }],
          [
            { path: "image-digests", data: DIGESTS },
            { path: "descriptions.yaml", data: DESCRIPTIONS },
          ],
        ],
        { asIndex: true },
      );
      const c = await readOfficialCatalog("v1.11.2", { image: `${reg.url}/siderolabs/extensions`, client });
      expect(c.tag).toBe("v1.11.2");
      expect(c.extensions.map((e) => e.name)).toEqual([
        "iscsi-tools",
        "util-linux-tools",
        "qemu-guest-agent",
        "nvidia-fabricmanager-lts",
        "nvidia-fabric-manager-lts",
      ]);
      expect(c.find("iscsi-tools")?.author).toBe("Sidero Labs");
    });

    it("reports a missing tag or a missing image-digests with codes", async () => {
      await expect(
        readOfficialCatalog("v9.9.9", { image: `${reg.url}/siderolabs/extensions`, client }),
      ).rejects.toMatchObject({
        code: "EXTSET_CATALOG_INVALID",
      });
      await pushFilesImage(client, `${reg.url}/siderolabs/extensions:v1.10.0`, [
        [{ path: "other", data: "x" }],
      ]);
      await expect(
        readOfficialCatalog("v1.10.0", { image: `${reg.url}/siderolabs/extensions`, client }),
      ).rejects.toMatchObject({
        code: "EXTSET_CATALOG_INVALID",
      });
    });
  });
});

describe("desired set", () => {
  const catalog = parseCatalog(DIGESTS, DESCRIPTIONS, "v1.11.2");
  const current = nodeExtensions(NODE).entries;
  const multipath: ExtensionSetEntry = extensionEntry({
    name: "multipath-tools",
    image: `127.0.0.1:5000/ext/multipath-tools:0.0.5@${D("a")}`,
    version: "0.0.5",
    talos: ">= v1.1.0",
    origin: "build",
  });

  it("keeps what nodes run, re-pins official ones to the target release, replaces and adds", () => {
    const d = desiredSet({
      current,
      requested: [multipath, "qemu-guest-agent"],
      catalog,
      talosVersion: "v1.11.2",
    });
    expect(d.entries.map((e) => [e.name, e.origin, e.version])).toEqual([
      ["iscsi-tools", "official", "v0.2.0"],
      ["util-linux-tools", "official", "2.41.1"],
      ["multipath-tools", "build", "0.0.5"],
      ["qemu-guest-agent", "official", "10.0.2"],
    ]);
    expect(d.diff.removed).toEqual([]);
    expect(d.diff.added.map((e) => e.name)).toEqual(["qemu-guest-agent"]);
    expect(d.diff.changed.map((c) => [c.name, c.from.version, c.to.version])).toEqual([
      ["iscsi-tools", "v0.1.6", "v0.2.0"],
      ["util-linux-tools", "2.40.4", "2.41.1"],
      ["multipath-tools", "0.0.4", "0.0.5"],
    ]);
    expect(d.unresolved).toEqual([]);
    expect(d.allOfficial).toBe(false);
  });

  it("never drops an extension unless removed by name; unresolved custom ones are reported", () => {
    const d = desiredSet({ current, requested: [], catalog });
    expect(d.entries.map((e) => e.name)).toEqual(["iscsi-tools", "util-linux-tools", "multipath-tools"]);
    expect(d.unresolved).toEqual(["multipath-tools"]);
    const r = desiredSet({ current, remove: ["multipath-tools"], catalog });
    expect(r.entries.map((e) => e.name)).toEqual(["iscsi-tools", "util-linux-tools"]);
    expect(r.diff.removed.map((e) => e.name)).toEqual(["multipath-tools"]);
    expect(r.allOfficial).toBe(true);
  });

  it("refuses unknown names with a suggestion, conflicts and incompatible versions", () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return { code: (e as { code: string }).code, hint: (e as { hint?: string }).hint };
      }
      return undefined;
    };
    expect(err(() => desiredSet({ current, requested: ["iscsi-tool"], catalog }))).toEqual({
      code: "EXTSET_UNKNOWN_OFFICIAL",
      hint: 'did you mean "iscsi-tools"?',
    });
    expect(err(() => desiredSet({ current, remove: ["gvisor"], catalog }))?.code).toBe(
      "EXTSET_REMOVE_UNKNOWN",
    );
    expect(
      err(() => desiredSet({ current, requested: [multipath], remove: ["multipath-tools"] }))?.code,
    ).toBe("EXTSET_CONFLICT");
    expect(
      err(() =>
        desiredSet({
          current,
          requested: [multipath, { ...multipath, image: `x.io/m:1@${D("b")}` }],
          catalog,
        }),
      )?.code,
    ).toBe("EXTSET_CONFLICT");
    expect(
      err(() =>
        desiredSet({
          current: [],
          requested: [{ ...multipath, talos: ">= v1.12.0" }],
          talosVersion: "v1.11.2",
        }),
      )?.code,
    ).toBe("EXTSET_INCOMPATIBLE");
    expect(err(() => extensionEntry({ name: "x", origin: "build", image: "x.io/x:1" }))?.code).toBe(
      "EXTSET_INVALID",
    );
    expect(err(() => extensionEntry({ name: "X Y", origin: "node" }))?.code).toBe("EXTSET_INVALID");
    expect(err(() => extensionEntry({ name: "x", origin: "node", talos: ">= banana" }))?.code).toBe(
      "EXTSET_INVALID",
    );
  });

  it("diffs two sets by name", () => {
    const a = [
      extensionEntry({ name: "a", origin: "node", version: "1" }),
      extensionEntry({ name: "b", origin: "node", version: "1" }),
    ];
    const b = [
      extensionEntry({ name: "b", origin: "node", version: "2" }),
      extensionEntry({ name: "c", origin: "node" }),
    ];
    const d = diffSets(a, b);
    expect([
      d.kept.length,
      d.added.map((e) => e.name),
      d.removed.map((e) => e.name),
      d.changed.map((c) => c.name),
    ]).toEqual([0, ["c"], ["a"], ["b"]]);
  });
});
