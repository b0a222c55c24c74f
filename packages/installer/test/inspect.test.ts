import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { pullLayout, RegistryClient } from "@talos-ext/image";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  artifactsLayer,
  buildInitramfs,
  buildPe,
  buildUki,
  compress,
  cpioNewc,
  dockerArchive,
  type PackedExtension,
  tarOf,
} from "../../../tools/doubles/imager-format.ts";
import { type RunningRegistry, startRegistry } from "../../../tools/harness/registry.ts";
import { inspectInstaller, readInitramfs } from "../src/index.ts";
import { pushFilesImage } from "./registry-image.ts";

const SCHEMATIC_ID = "613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245";
const SCHEMATIC =
  "customization:\n    systemExtensions:\n        officialExtensions:\n            - siderolabs/iscsi-tools\n            - siderolabs/util-linux-tools\n";
const EXTS: PackedExtension[] = [
  { name: "iscsi-tools", version: "v0.2.0", author: "Sidero Labs", talos: ">= v1.10.0" },
  { name: "util-linux-tools", version: "2.41.1", author: "Sidero Labs", talos: ">= v1.10.0" },
  {
    name: "schematic",
    version: SCHEMATIC_ID,
    author: "Image Factory (https://factory.talos.dev)",
    talos: ">= 1.0.0",
    extraInfo: SCHEMATIC,
  },
  { name: "modules.dep", version: "6.12.40-talos", author: "Talos Machinery" },
];
const BASE_LAYER = tarOf([{ path: "usr/bin/installer", data: "installer", mode: 0o755 }]);

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "talos-ext-inspect-"));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function ukiInstaller(
  name: string,
  extensions: PackedExtension[],
  extra: { uname?: string; microcode?: boolean } = {},
) {
  const initrd = buildInitramfs({ compression: "zstd", extensions, microcode: extra.microcode ?? false });
  const uki = buildUki({
    version: "v1.11.2",
    cmdline: "talos.platform=metal console=ttyS0",
    initrd,
    ...(extra.uname ? { uname: extra.uname } : {}),
  });
  const layer2 = artifactsLayer([
    { path: "usr/install/amd64/vmlinuz.efi", data: uki },
    { path: "usr/install/amd64/systemd-boot.efi", data: buildPe([{ name: ".text", data: "boot" }]) },
  ]);
  const file = join(work, name);
  await writeFile(
    file,
    dockerArchive({
      arch: "amd64",
      layers: [BASE_LAYER, layer2],
      repoTag: "ghcr.io/siderolabs/installer-base:v1.11.2",
      env: ["VERSION=v1.11.2"],
    }),
  );
  return file;
}

describe("installer inspection", () => {
  it(">= 1.10: reads the UKI's first .cmdline, .osrel VERSION_ID and the extensions in .initrd", async () => {
    const file = await ukiInstaller("installer-amd64.tar", EXTS, { uname: "6.12.40-talos", microcode: true });
    const r = await inspectInstaller(file);
    expect(r).toMatchObject({
      sourceKind: "docker-archive",
      arch: "amd64",
      talosVersion: "v1.11.2",
      boot: "uki",
      layerCount: 2,
      assets: ["usr/install/amd64/systemd-boot.efi", "usr/install/amd64/vmlinuz.efi"],
      initramfsStreams: ["none", "zstd"],
      repoTags: ["ghcr.io/siderolabs/installer-base:v1.11.2"],
    });
    expect(r.uki?.cmdline).toBe("talos.platform=metal console=ttyS0");
    expect(r.uki?.uname).toBe("6.12.40-talos");
    expect(r.uki?.osrel.VERSION_ID).toBe("v1.11.2");
    expect(r.extensions.map((e) => [e.id, e.image, e.name, e.version, e.present])).toEqual([
      ["0", "0.sqsh", "iscsi-tools", "v0.2.0", true],
      ["1", "1.sqsh", "util-linux-tools", "2.41.1", true],
      ["2", "2.sqsh", "schematic", SCHEMATIC_ID, true],
      ["3", "3.sqsh", "modules.dep", "6.12.40-talos", true],
    ]);
    expect(r.set.entries.map((e) => e.name)).toEqual(["iscsi-tools", "util-linux-tools"]);
    expect(r.set.schematic).toMatchObject({
      id: SCHEMATIC_ID,
      idMatches: true,
      factoryUrl: "https://factory.talos.dev",
    });
    expect(r.set.modulesDep).toBe(true);
  });

  it("orders 11+ extensions as the imager's string sort does (0, 1, 10, 2, ...)", async () => {
    const many = Array.from({ length: 11 }, (_, i) => ({ name: `ext-${i}`, version: "1" }));
    const r = await inspectInstaller(await ukiInstaller("many.tar", many));
    expect(r.extensions.map((e) => `${e.id}:${e.name}`).slice(0, 4)).toEqual([
      "0:ext-0",
      "1:ext-1",
      "10:ext-10",
      "2:ext-2",
    ]);
  });

  it("an empty-schematic factory installer reports only the schematic extension; no .uname is fine", async () => {
    const r = await inspectInstaller(await ukiInstaller("empty.tar", [EXTS[2] as PackedExtension]));
    expect(r.extensions.map((e) => e.name)).toEqual(["schematic"]);
    expect(r.uki?.uname).toBeUndefined();
  });

  it("<= 1.9 imager output: initramfs.xz (xz streams) with the appended extension stream", async () => {
    const initramfs = buildInitramfs({
      compression: "xz",
      extensions: [{ name: "multipath-tools", version: "0.0.4", author: "Reza Chalak" }],
    });
    const layer2 = artifactsLayer([
      { path: "usr/install/amd64/vmlinuz", data: Buffer.alloc(1000, 1) },
      { path: "usr/install/amd64/initramfs.xz", data: initramfs },
    ]);
    const file = join(work, "installer-1.7.tar");
    await writeFile(
      file,
      dockerArchive({ arch: "amd64", layers: [BASE_LAYER, layer2], env: ["VERSION=v1.7.6"] }),
    );
    const r = await inspectInstaller(file);
    expect(r).toMatchObject({ boot: "kernel-initramfs", talosVersion: "v1.7.6", initramfsStreams: ["xz"] });
    expect(r.extensions.map((e) => e.name)).toEqual(["multipath-tools"]);
  });

  it("published <= 1.9 installers (4 files, no extension stream) report no extensions", async () => {
    const layer2 = tarOf(
      ["vmlinuz", "initramfs.xz", "systemd-stub.efi", "systemd-boot.efi"].map((f) => ({
        path: `usr/install/amd64/${f}`,
        data: f === "initramfs.xz" ? buildInitramfs({ compression: "zstd" }) : Buffer.from(f),
      })),
    );
    const file = join(work, "published-1.9.tar");
    await writeFile(
      file,
      dockerArchive({ arch: "amd64", layers: [BASE_LAYER, layer2], env: ["VERSION=v1.9.5"] }),
    );
    const r = await inspectInstaller(file);
    expect(r.boot).toBe("kernel-initramfs");
    expect(r.assets).toHaveLength(4);
    expect(r.extensions).toEqual([]);
    expect(r.set.entries).toEqual([]);
  });

  it("reads an OCI layout and a registry reference the same way", async () => {
    const file = await ukiInstaller("for-registry.tar", EXTS.slice(0, 2));
    const reg: RunningRegistry = await startRegistry();
    const client = new RegistryClient({ insecure: true, retryDelayMs: 20 });
    try {
      const initrd = buildInitramfs({ compression: "zstd", extensions: EXTS.slice(0, 2) });
      const uki = buildUki({ version: "v1.12.0", cmdline: "talos.platform=aws", initrd });
      const ref = `${reg.url}/talos/installer:v1.12.0`;
      await pushFilesImage(
        client,
        ref,
        [
          [{ path: "usr/bin/installer", data: "x" }],
          [
            { path: "usr/install/amd64/systemd-boot.efi", data: "b" },
            { path: "usr/install/amd64/vmlinuz.efi", data: uki },
          ],
        ],
        { asIndex: true },
      );
      const r = await inspectInstaller(ref, { client });
      expect(r).toMatchObject({ sourceKind: "registry", talosVersion: "v1.12.0", arch: "amd64" });
      expect(r.uki?.cmdline).toBe("talos.platform=aws");
      expect(r.extensions.map((e) => e.name)).toEqual(["iscsi-tools", "util-linux-tools"]);
      await expect(inspectInstaller(ref, { client, arch: "arm64" })).rejects.toMatchObject({
        code: "INSPECT_INPUT_INVALID",
      });
      const layout = join(work, "layout");
      await pullLayout(ref, layout, { insecure: true });
      const fromLayout = await inspectInstaller(layout);
      expect(fromLayout).toMatchObject({ sourceKind: "oci-layout", talosVersion: "v1.12.0" });
      expect(fromLayout.extensions.map((e) => e.name)).toEqual(["iscsi-tools", "util-linux-tools"]);
    } finally {
      client.close();
      await reg.stop();
    }
    expect((await inspectInstaller(file)).extensions).toHaveLength(2);
  });

  it("refuses inputs that are not installers, with codes", async () => {
    const base = join(work, "base.tar");
    await writeFile(base, dockerArchive({ arch: "amd64", layers: [BASE_LAYER] }));
    await expect(inspectInstaller(base)).rejects.toMatchObject({ code: "INSPECT_NOT_INSTALLER" });
    const notTar = join(work, "junk.tar");
    await writeFile(notTar, tarOf([{ path: "hello", data: "x" }]));
    await expect(inspectInstaller(notTar)).rejects.toMatchObject({ code: "INSPECT_INPUT_INVALID" });
    await expect(inspectInstaller(join(work, "missing.tar"))).rejects.toMatchObject({
      code: "INSPECT_INPUT_INVALID",
    });
    const badPe = join(work, "badpe.tar");
    const noInitrd = buildPe([
      { name: ".osrel", data: "VERSION_ID=v1.11.0" },
      { name: ".cmdline", data: "x" },
    ]);
    await writeFile(
      badPe,
      dockerArchive({
        arch: "amd64",
        layers: [BASE_LAYER, artifactsLayer([{ path: "usr/install/amd64/vmlinuz.efi", data: noInitrd }])],
      }),
    );
    await expect(inspectInstaller(badPe)).rejects.toMatchObject({ code: "INSPECT_PE_INVALID" });
    const notPe = join(work, "notpe.tar");
    await writeFile(
      notPe,
      dockerArchive({
        arch: "amd64",
        layers: [BASE_LAYER, artifactsLayer([{ path: "usr/install/amd64/vmlinuz.efi", data: "hello" }])],
      }),
    );
    await expect(inspectInstaller(notPe)).rejects.toMatchObject({ code: "INSPECT_PE_INVALID" });
  });
});

describe("initramfs walker", () => {
  it("continues past each TRAILER!!! and NUL padding inside one decompressed stream", async () => {
    const two = Buffer.concat([
      cpioNewc([{ name: "a", data: "1" }], { blockPad: true }),
      Buffer.alloc(1024),
      cpioNewc([
        { name: "extensions.yaml", data: "layers: []\n" },
        { name: "b", data: "22" },
      ]),
    ]);
    const r = await readInitramfs(compress("zstd", two));
    expect([...r.files.keys()]).toEqual(["a", "extensions.yaml", "b"]);
    expect(r.extensionsYaml).toBe("layers: []\n");
    // Concatenated zstd frames decode as one stream.
    const frames = Buffer.concat([
      compress("zstd", cpioNewc([{ name: "x" }])),
      compress("zstd", cpioNewc([{ name: "y" }])),
    ]);
    expect([...(await readInitramfs(frames)).files.keys()]).toEqual(["x", "y"]);
  });

  it("skips NUL padding between zstd parts and after the last, as the kernel does", async () => {
    const padded = Buffer.concat([
      compress("zstd", cpioNewc([{ name: "x" }])),
      Buffer.alloc(3),
      compress("zstd", cpioNewc([{ name: "extensions.yaml", data: "layers: []\n" }])),
      Buffer.alloc(4096),
    ]);
    const r = await readInitramfs(padded);
    expect([...r.files.keys()]).toEqual(["x", "extensions.yaml"]);
    expect(r.streams).toEqual(["zstd"]);
    // Padding is NULs only: anything else after the frames is damage.
    const junk = Buffer.concat([padded, Buffer.from("not a frame")]);
    await expect(readInitramfs(junk)).rejects.toMatchObject({ code: "INSPECT_COMPRESSION" });
  });

  it("is streamed: a large initramfs is read in chunks", { timeout: 180_000 }, async () => {
    const big = buildInitramfs({
      compression: "zstd",
      rootfsSize: 64 * 1024 * 1024,
      extensions: [{ name: "e", version: "1" }],
    });
    // Live memory, not garbage: a scavenge (fast, young objects only: the decoded chunks) before
    // each sample, every 20 ms while it reads.
    v8.setFlagsFromString("--expose-gc");
    const gcFn = runInNewContext("gc") as (o?: { type: string; execution: string }) => void;
    const gc = () => gcFn({ type: "minor", execution: "sync" });
    gcFn();
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let samples = 0;
    const sample = setInterval(() => {
      gc();
      samples++;
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }, 20);
    const chunks = (async function* () {
      for (let i = 0; i < big.length; i += 65536) yield big.subarray(i, i + 65536);
    })();
    const r = await readInitramfs(chunks).finally(() => clearInterval(sample));
    expect(r.files.get("rootfs.sqsh")).toBe(64 * 1024 * 1024);
    expect(samples).toBeGreaterThan(0);
    // Reading it whole would hold the 64 MiB rootfs; streamed, a few chunks are alive at a time.
    expect(peak).toBeLessThan(16 * 1024 * 1024);
  });

  it("refuses corrupt data with codes", async () => {
    await expect(readInitramfs(Buffer.from("070701zzzzzzzz"))).rejects.toMatchObject({
      code: "INSPECT_CPIO_INVALID",
    });
    await expect(readInitramfs(Buffer.from("hello world"))).rejects.toMatchObject({
      code: "INSPECT_COMPRESSION",
    });
    const z = compress("zstd", cpioNewc([{ name: "a", data: "x".repeat(5000) }]));
    await expect(readInitramfs(z.subarray(0, z.length - 20))).rejects.toMatchObject({
      code: "INSPECT_COMPRESSION",
    });
    await mkdir(join(work, "d"), { recursive: true });
  });
});
