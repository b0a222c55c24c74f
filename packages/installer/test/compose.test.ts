import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { RegistryClient } from "@talos-ext/image";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarOf } from "../../../tools/doubles/imager-format.ts";
import { type RunningRegistry, startRegistry } from "../../../tools/harness/registry.ts";
import {
  composeInstaller,
  desiredSet,
  extensionEntry,
  FactoryClient,
  inspectInstaller,
  nodeExtensions,
  parseCatalog,
  pushDockerArchive,
  routeFor,
} from "../src/index.ts";
import { startFakeFactory } from "./factory-server.ts";
import { pushFilesImage } from "./registry-image.ts";

const exec = promisify(execFile);
const IMAGER = fileURLToPath(new URL("../../../tools/doubles/imager", import.meta.url));
const D = (c: string) => `sha256:${c.repeat(64)}`;
const ISCSI = "613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245";
const CATALOG = parseCatalog(
  `ghcr.io/siderolabs/iscsi-tools:v0.2.0@${D("1")}\nghcr.io/siderolabs/util-linux-tools:2.41.1@${D("2")}\n`,
  undefined,
  "v1.11.2",
);

let reg: RunningRegistry;
let client: RegistryClient;
let work: string;
beforeAll(async () => {
  reg = await startRegistry();
  client = new RegistryClient({ insecure: true, retryDelayMs: 20 });
  work = await mkdtemp(join(tmpdir(), "talos-ext-compose-"));
});
afterAll(async () => {
  client?.close();
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("composition route", () => {
  it("all official -> factory reference (schematic registered)", async () => {
    const body =
      '{"customization":{"systemExtensions":{"officialExtensions":["siderolabs/iscsi-tools","siderolabs/util-linux-tools"]}}}';
    const f = await startFakeFactory({ schematics: { [body]: [ISCSI, "x"] }, extensions: {} });
    try {
      const set = desiredSet({
        current: [],
        requested: ["iscsi-tools", "util-linux-tools"],
        catalog: CATALOG,
      });
      expect(routeFor(set.entries)).toBe("factory");
      const r = await composeInstaller({
        entries: set.entries,
        version: "1.11.2",
        factory: new FactoryClient({ url: f.url, allowInsecure: true }),
        factoryRegistry: "factory.talos.dev",
      });
      expect(r).toMatchObject({
        route: "factory",
        ref: `factory.talos.dev/metal-installer/${ISCSI}:v1.11.2`,
      });
      expect(r.schematic?.offlineId).toBe(ISCSI);
      await expect(
        composeInstaller({
          entries: set.entries,
          version: "v1.9.5",
          extraKernelArgs: ["console=ttyS0"],
          factory: new FactoryClient({ url: f.url, allowInsecure: true }),
        }),
      ).rejects.toMatchObject({ code: "INSTALLER_OPTION_UNSUPPORTED" });
    } finally {
      await f.stop();
    }
  });

  it("any custom -> imager per arch, pushed as one index; the pushed installer inspects to the whole set", async () => {
    const base = `${reg.url}/siderolabs/installer-base:v1.11.2`;
    for (const arch of ["amd64", "arm64"]) {
      await pushFilesImage(
        client,
        `${reg.url}/siderolabs/installer-base:${arch}`,
        [[{ path: "usr/bin/installer", data: arch }]],
        { arch },
      );
    }
    // A two-arch base index, as ghcr publishes it.
    const amd = await client.getManifest(`${reg.url}/siderolabs/installer-base:amd64`);
    const arm = await client.getManifest(`${reg.url}/siderolabs/installer-base:arm64`);
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: amd.mediaType,
            digest: amd.digest,
            size: amd.body.length,
            platform: { os: "linux", architecture: "amd64" },
          },
          {
            mediaType: arm.mediaType,
            digest: arm.digest,
            size: arm.body.length,
            platform: { os: "linux", architecture: "arm64" },
          },
        ],
      }),
    );
    await client.putManifest(base, index, "application/vnd.oci.image.index.v1+json");
    const mpRef = `${reg.url}/ext/multipath-tools:0.0.5`;
    const mpDigest = await pushFilesImage(client, mpRef, [
      [
        {
          path: "manifest.yaml",
          data: 'version: v1alpha1\nmetadata:\n  name: multipath-tools\n  version: "0.0.5"\n  author: me\n  compatibility:\n    talos:\n      version: ">= v1.1.0"\n',
        },
      ],
    ]);
    const iscsiRef = `${reg.url}/siderolabs/iscsi-tools:v0.2.0`;
    const iscsiDigest = await pushFilesImage(client, iscsiRef, [
      [
        {
          path: "manifest.yaml",
          data: "version: v1alpha1\nmetadata:\n  name: iscsi-tools\n  version: v0.2.0\n  author: Sidero Labs\n",
        },
      ],
    ]);
    const node = nodeExtensions([
      { spec: { metadata: { name: "iscsi-tools", version: "v0.1.6" } } },
      { spec: { metadata: { name: "multipath-tools", version: "0.0.4" } } },
    ]);
    const localCatalog = parseCatalog(`${iscsiRef}@${iscsiDigest}\n`, undefined, "v1.11.2");
    const set = desiredSet({
      current: node.entries,
      requested: [
        extensionEntry({
          name: "multipath-tools",
          origin: "build",
          image: `${mpRef}@${mpDigest}`,
          version: "0.0.5",
          talos: ">= v1.1.0",
        }),
      ],
      catalog: localCatalog,
      talosVersion: "v1.11.2",
    });
    expect(routeFor(set.entries)).toBe("imager");
    const target = `${reg.url}/ext/installer:v1.11.2-mp`;
    const r = await composeInstaller({
      entries: set.entries,
      version: "v1.11.2",
      arches: ["amd64", "arm64"],
      target,
      workDir: join(work, "out"),
      imagerBinary: IMAGER,
      baseInstaller: base,
      registry: { client },
    });
    expect(r.route).toBe("imager");
    expect(r.images?.map((i) => i.arch)).toEqual(["amd64", "arm64"]);
    const top = await client.getManifest(target);
    expect(top.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    expect(r.ref).toBe(`${reg.url}/ext/installer@${top.digest}`);
    for (const arch of ["amd64", "arm64"]) {
      const report = await inspectInstaller(target, { client, arch });
      expect(report.arch).toBe(arch);
      expect(report.extensions.map((e) => [e.name, e.version])).toEqual([
        ["iscsi-tools", "v0.2.0"],
        ["multipath-tools", "0.0.5"],
      ]);
    }
    // skopeo reads what we pushed: the same digest as our manifest.
    const { stdout } = await exec("skopeo", [
      "inspect",
      "--tls-verify=false",
      "--raw",
      `docker://${reg.url}/ext/installer@${r.images?.[0]?.digest}`,
    ]);
    expect(JSON.parse(stdout).mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
  });

  it("refuses a node-found custom extension without an image", async () => {
    const entries = [extensionEntry({ name: "multipath-tools", origin: "node" })];
    await expect(composeInstaller({ entries, version: "v1.11.2", target: "x.io/a:b" })).rejects.toMatchObject(
      { code: "EXTSET_INVALID" },
    );
    await writeFile(join(work, "x"), tarOf([]));
  });
});

describe("pushing docker-archives", () => {
  it("pushes a docker save style archive (plain tar layer) with the plain-tar media type", async () => {
    const layer = tarOf([{ path: "usr/install/amd64/vmlinuz", data: "k" }]);
    const layerName = `${createHash("sha256").update(layer).digest("hex")}/layer.tar`;
    const config = Buffer.from(
      JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
    );
    const configName = `${createHash("sha256").update(config).digest("hex")}.json`;
    const file = join(work, "docker-save.tar");
    await writeFile(
      file,
      tarOf([
        { path: configName, data: config },
        { path: layerName, data: layer },
        {
          path: "manifest.json",
          data: JSON.stringify([{ Config: configName, RepoTags: ["x:1"], Layers: [layerName] }]),
        },
      ]),
    );
    const pushed = await pushDockerArchive(file, `${reg.url}/ext/saved:1`, { client });
    const m = JSON.parse(Buffer.from((await client.getManifest(`${reg.url}/ext/saved:1`)).body).toString());
    expect(pushed.arch).toBe("amd64");
    expect(m.layers[0].mediaType).toBe("application/vnd.docker.image.rootfs.diff.tar");
    await expect(
      pushDockerArchive(join(work, "nope.tar"), `${reg.url}/ext/saved:2`, { client }),
    ).rejects.toMatchObject({
      code: "INSPECT_INPUT_INVALID",
    });
  });
});
