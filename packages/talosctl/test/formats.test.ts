/**
 * The double prints the reference formats byte for byte (the constructed examples of
 * shared/reference/talos-extensions.md §5.1-§5.4), and the package reads them back.
 */
import { execa } from "execa";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  type DoubleResource,
  formatJsonResource,
  formatYamlResource,
} from "../../../tools/doubles/talosctl-format.ts";
import { parseConcatenatedJson, parseGetYaml } from "../src/index.ts";
import { type Cluster, makeCluster } from "./cluster.ts";

const MULTIPATH_JSON = `{
    "metadata": {
        "created": "2026-08-01T10:00:00Z",
        "id": 1,
        "namespace": "runtime",
        "owner": "runtime.ExtensionStatusController",
        "phase": "running",
        "type": "ExtensionStatuses.runtime.talos.dev",
        "updated": "2026-08-01T10:00:00Z",
        "version": 1
    },
    "node": "10.5.0.2",
    "spec": {
        "image": "1.sqsh",
        "metadata": {
            "author": "Example Org",
            "compatibility": {
                "talos": {
                    "version": "\\u003e= v1.10.0"
                }
            },
            "description": "[extra] Provides multipathd and multipath tools.\\n",
            "name": "multipath-tools",
            "version": "0.13.0"
        }
    }
}
{
    "metadata": {
        "created": "2026-08-01T10:00:00Z",
        "id": "modules.dep",
        "namespace": "runtime",
        "owner": "runtime.ExtensionStatusController",
        "phase": "running",
        "type": "ExtensionStatuses.runtime.talos.dev",
        "updated": "2026-08-01T10:00:00Z",
        "version": 1
    },
    "node": "10.5.0.2",
    "spec": {
        "image": "modules.dep.sqsh",
        "metadata": {
            "author": "Talos Machinery",
            "compatibility": {
                "talos": {
                    "version": ""
                }
            },
            "description": "Combined modules.dep for all extensions",
            "name": "modules.dep",
            "version": "6.18.45-talos"
        }
    }
}
`;

const MULTIPATH_YAML = `node: 10.5.0.2
metadata:
    namespace: runtime
    type: ExtensionStatuses.runtime.talos.dev
    id: 1
    version: 1
    owner: runtime.ExtensionStatusController
    phase: running
    created: 2026-08-01T10:00:00Z
    updated: 2026-08-01T10:00:00Z
spec:
    image: 1.sqsh
    metadata:
        name: multipath-tools
        version: 0.13.0
        author: Example Org
        description: |
            [extra] Provides multipathd and multipath tools.
        compatibility:
            talos:
                version: '>= v1.10.0'
---
node: 10.5.0.2
`;

const VERSION_TEXT = `Client:
\tTag:         v1.14.0
\tSHA:         d0ub1e00
\tBuilt:       
\tGo version:  go1.26.7
\tOS/Arch:     linux/amd64
Server:
\tNODE:        10.5.0.2
\tTag:         v1.14.0
\tSHA:         d0ub1e00
\tBuilt:       
\tGo version:  go1.26.7
\tOS/Arch:     linux/amd64
\tEnabled:     RBAC
`;

const MACHINESTATUS_JSON = `{
    "metadata": {
        "created": "2026-08-01T10:00:00Z",
        "id": "machine",
        "namespace": "runtime",
        "owner": "runtime.MachineStatusController",
        "phase": "running",
        "type": "MachineStatuses.runtime.talos.dev",
        "updated": "2026-08-01T10:00:00Z",
        "version": 7
    },
    "node": "10.5.0.2",
    "spec": {
        "stage": "running",
        "status": {
            "ready": true,
            "unmetConditions": []
        }
    }
}
`;

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.cleanup();
  cluster = undefined;
});

async function referenceCluster(): Promise<Cluster> {
  return makeCluster({
    clientVersion: "v1.14.0",
    nodes: {
      "10.5.0.2": {
        role: "controlplane",
        bootedAt: "2026-08-01T10:00:00Z",
        boot: {
          current: {
            version: "v1.14.0",
            extensions: [
              { name: "drbd", version: "9.3.3-v1.14.0", author: "Sidero Labs" },
              {
                name: "multipath-tools",
                version: "0.13.0",
                author: "Example Org",
                description: "[extra] Provides multipathd and multipath tools.\n",
                compatibility: ">= v1.10.0",
              },
              {
                id: "modules.dep",
                name: "modules.dep",
                version: "6.18.45-talos",
                author: "Talos Machinery",
                description: "Combined modules.dep for all extensions",
              },
            ],
          },
        },
      },
    },
  });
}

const run = (c: Cluster, args: string[]) =>
  execa(c.talosctl.binary, ["--nodes", "10.5.0.2", ...args], { env: c.env, stripFinalNewline: false });

describe("reference formats", () => {
  it("get -o json: concatenated, 4-space, sorted keys, escaped, numeric ids", async () => {
    cluster = await referenceCluster();
    const { stdout } = await run(cluster, ["get", "extensions", "-o", "json"]);
    expect(stdout.endsWith(MULTIPATH_JSON)).toBe(true);
    const first = stdout.slice(0, stdout.length - MULTIPATH_JSON.length);
    expect(first.endsWith("}\n")).toBe(true);
    expect(parseConcatenatedJson(stdout)).toHaveLength(3);
    const ms = await run(cluster, ["get", "machinestatus", "-o", "json"]);
    expect(ms.stdout).toBe(MACHINESTATUS_JSON);
  });

  it("get -o yaml: metadata key order, block scalars, quoting, --- separators", async () => {
    cluster = await referenceCluster();
    const { stdout } = await run(cluster, ["get", "extensions", "-o", "yaml"]);
    const second = stdout.indexOf(
      "---\nnode: 10.5.0.2\nmetadata:\n    namespace: runtime\n    type: ExtensionStatuses.runtime.talos.dev\n    id: 1\n",
    );
    expect(second).toBeGreaterThan(0);
    expect(stdout.slice(second + 4).startsWith(MULTIPATH_YAML.slice(0, MULTIPATH_YAML.indexOf("---")))).toBe(
      true,
    );
    const parsed = parseGetYaml(stdout);
    const json = parseConcatenatedJson((await run(cluster, ["get", "extensions", "-o", "json"])).stdout);
    expect(parsed).toEqual(json);
  });

  it("version: client and server blocks", async () => {
    cluster = await referenceCluster();
    expect((await run(cluster, ["version"])).stdout).toBe(VERSION_TEXT);
  });

  it("logs: every line prefixed with the node", async () => {
    cluster = await referenceCluster();
    const { stdout } = await run(cluster, ["logs", "kubelet", "--tail", "5"]);
    expect(stdout).toBe("10.5.0.2: [talos] service[kubelet]: started\n");
  });
});

describe("the double's JSON and YAML say the same (property)", () => {
  it("any spec strings read back equal through parseGetYaml and the splitter", () => {
    const text = fc.oneof(
      fc.string(),
      fc.constantFrom(
        "",
        "0.13.0",
        "1234",
        "true",
        "null",
        "- x",
        "a: b",
        "#c",
        " x",
        "x\n",
        "a\nb",
        "'q'",
        '"d"',
        ">= v1.10.0",
        "2026-08-01",
        "~",
      ),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ minLength: 1 }), text, fc.string()), { maxLength: 4 }),
        (items) => {
          const resources: DoubleResource[] = items.map(([id, a, b], i) => ({
            node: "10.5.0.2",
            metadata: {
              namespace: "runtime",
              type: "Things.runtime.talos.dev",
              id: /^\d+$/.test(id) || /[\s:#'"\\]/.test(id) || id.startsWith("-") ? `id-${i}` : id,
              version: 1,
              owner: i % 2 === 0 ? "" : "owner.Controller",
              phase: "running",
              created: "2026-08-01T10:00:00Z",
              updated: "2026-08-01T10:00:00Z",
            },
            spec: { a, nested: { b, list: [a, b] } },
          }));
          const json = resources.map(formatJsonResource).join("");
          const yaml = resources.map((r, i) => formatYamlResource(r, i === 0)).join("");
          expect(parseGetYaml(yaml)).toEqual(parseConcatenatedJson(json));
        },
      ),
      { numRuns: 300 },
    );
  });
});
