/**
 * The Nx `deploy` target end to end in a throw-away workspace: `nx run multipath-tools:deploy
 * --dry-run` plans without building (its base images are out of reach here), and
 * `nx run usb-serial-rules:deploy --yes` builds through Nx, pushes to a real registry, composes
 * with the imager double and rolls out to the talosctl double, which boots what it pulls.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RegistryClient } from "@talos-ext/image";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type RunningRegistry, startRegistry } from "../../../tools/harness/registry.ts";
import { pushFilesImage } from "../../installer/test/registry-image.ts";
import { makeWorkspace, type Workspace } from "./workspace.ts";

const repo = (p: string) => fileURLToPath(new URL(`../../../${p}`, import.meta.url));
let ws: Workspace;
let reg: RunningRegistry;
let client: RegistryClient;

const node = (hostname: string, role: string) => ({
  hostname,
  role,
  boot: {
    current: {
      version: "v1.14.0",
      extensions: [
        { name: "iscsi-tools", version: "v0.1.9" },
        { name: "multipath-tools", version: "0.13.0" },
        { name: "usb-serial-rules", version: "0.9.0" },
      ],
    },
  },
});

beforeAll(async () => {
  ws = await makeWorkspace();
  reg = await startRegistry();
  client = new RegistryClient({ insecure: true, retryDelayMs: 20 });
  await pushFilesImage(client, `${reg.url}/siderolabs/installer-base:v1.14.1`, [
    [{ path: "usr/bin/installer", data: "base" }],
  ]);
  const iscsi = await pushFilesImage(client, `${reg.url}/siderolabs/iscsi-tools:v0.2.0`, [
    [
      {
        path: "manifest.yaml",
        data: "version: v1alpha1\nmetadata:\n  name: iscsi-tools\n  version: v0.2.0\n  author: Sidero Labs\n",
      },
    ],
  ]);
  await pushFilesImage(client, `${reg.url}/siderolabs/extensions:v1.14.1`, [
    [{ path: "image-digests", data: `ghcr.io/siderolabs/iscsi-tools:v0.2.0@${iscsi}\n` }],
  ]);
  await writeFile(
    join(ws.dir, "talos-ext.yaml"),
    [
      "talos:",
      "  version: v1.14.1",
      "platforms: [linux/amd64]",
      "tree:",
      "  root: extensions",
      "registry:",
      `  repository: ${reg.url}/ext`,
      "  insecure: true",
      "mirrors:",
      "  images:",
      `    - ghcr.io/siderolabs=${reg.url}/siderolabs`,
      "cluster:",
      "  nodes:",
      "    controlPlane: [10.5.0.2]",
      "    worker: [10.5.0.4]",
      "installer:",
      "  imager:",
      `    binary: ${repo("tools/doubles/imager")}`,
      "",
    ].join("\n"),
  );
  await writeFile(
    join(ws.dir, "state.json"),
    JSON.stringify({
      clientVersion: "v1.14.0",
      nodes: { "10.5.0.2": node("cp-1", "controlplane"), "10.5.0.4": node("w-1", "worker") },
    }),
  );
  await ws.commit("config");
}, 300_000);

afterAll(async () => {
  client?.close();
  await reg?.stop();
  if (ws) await rm(ws.dir, { recursive: true, force: true });
});

const env = () => ({
  PATH: `/nonexistent:${process.env.PATH}`,
  DOCKER_HOST: "unix:///nonexistent.sock",
  TALOSCTL: repo("tools/doubles/talosctl"),
  TALOSCTL_DOUBLE_STATE: join(ws.dir, "state.json"),
  TALOSCTL_DOUBLE_NODE: process.execPath,
  TALOSCTL_DOUBLE_PULL: "1",
  TALOSCONFIG: "",
});

describe("nx run <extension>:deploy", () => {
  test("multipath-tools --dry-run prints the whole plan and builds nothing", {
    timeout: 300_000,
  }, async () => {
    const before = await readFile(join(ws.dir, "state.json"), "utf8");
    // multipath-tools keeps the usb-serial-rules the nodes run: it is deployed from here too.
    const r = await ws.nx(
      ["run", "multipath-tools:deploy", "--dry-run", "--remove", "usb-serial-rules", "--output-style=static"],
      env(),
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const all = r.stdout + r.stderr;
    expect(all).toContain("image: would build multipath-tools into");
    expect(all).toContain(
      "installer: imager route, ~iscsi-tools v0.1.9->v0.2.0 ~multipath-tools 0.13.0->unbuilt",
    );
    expect(all).toMatch(/10\.5\.0\.2\s+controlplane\s+v1\.14\.0\s+v1\.14\.1\s+upgrade/);
    expect(all).toContain(`--nodes 10.5.0.4 upgrade --image ${reg.url}/ext/installer:v1.14.1`);
    expect(all).toContain("dry run: nothing was built, pushed, composed or upgraded");
    expect(all).not.toContain("nx run multipath-tools:build");
    expect(await readFile(join(ws.dir, "state.json"), "utf8")).toBe(before);
  });

  test("usb-serial-rules --yes builds through Nx, pushes, composes and rolls out", {
    timeout: 600_000,
  }, async () => {
    const r = await ws.nx(
      ["run", "usb-serial-rules:deploy", "--yes", "--remove", "multipath-tools", "--output-style=static"],
      env(),
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const all = r.stdout + r.stderr;
    expect(all).toContain("[ok] nx run usb-serial-rules:build");
    expect(all).toMatch(/deployed: usb-serial-rules \S+ with \S+\/ext\/installer@sha256:[0-9a-f]{64}/);
    const state = JSON.parse(await readFile(join(ws.dir, "state.json"), "utf8"));
    for (const n of ["10.5.0.2", "10.5.0.4"]) {
      const names = state.nodes[n].boot.current.extensions.map((e: { name: string }) => e.name);
      expect(names).toEqual(["iscsi-tools", "usb-serial-rules"]);
      expect(state.nodes[n].boot.current.version).toBe("v1.14.1");
    }
  });
});
