import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pullLayout, RegistryClient } from "@talos-ext/image";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarOf } from "../../../tools/doubles/imager-format.ts";
import { type RunningRegistry, startRegistry } from "../../../tools/harness/registry.ts";
import {
  buildEntry,
  defaultBaseInstaller,
  dockerImagerCommand,
  extensionEntry,
  imagerExitClass,
  inspectInstaller,
  installerOutputName,
  installerProfile,
  runImager,
  validateImagerProfile,
} from "../src/index.ts";
import { pushFilesImage } from "./registry-image.ts";

const IMAGER = fileURLToPath(new URL("../../../tools/doubles/imager", import.meta.url));
const D = (c: string) => `sha256:${c.repeat(64)}`;

const manifest = (name: string, version: string, talos: string) =>
  `version: v1alpha1\nmetadata:\n  name: ${name}\n  version: "${version}"\n  author: Test\n  description: |\n    ${name}\n  compatibility:\n    talos:\n      version: "${talos}"\n`;

describe("imager profiles", () => {
  it("generates a strict installer profile per version", () => {
    const p = installerProfile({
      version: "1.11.2",
      arch: "arm64",
      extensions: [{ imageRef: `x.io/e:1@${D("1")}` }],
    });
    expect(p).toEqual({
      arch: "arm64",
      platform: "metal",
      secureboot: false,
      version: "v1.11.2",
      customization: {},
      input: {
        baseInstaller: { imageRef: "ghcr.io/siderolabs/installer-base:v1.11.2" },
        systemExtensions: [{ imageRef: `x.io/e:1@${D("1")}` }],
      },
      output: { kind: "installer", outFormat: "raw" },
    });
    expect(defaultBaseInstaller("v1.9.5")).toBe("ghcr.io/siderolabs/installer:v1.9.5");
    expect(installerOutputName({ arch: "amd64", platform: "aws", secureboot: true, version: "v1.5.5" })).toBe(
      "aws-amd64-secureboot-installer.tar",
    );
    expect(installerOutputName({ arch: "amd64", platform: "aws", secureboot: true, version: "v1.6.0" })).toBe(
      "installer-amd64-secureboot.tar",
    );
  });

  it("accepts kernel args only where the version does", () => {
    const ok = (version: string, secureboot = false) =>
      installerProfile({
        version,
        arch: "amd64",
        secureboot,
        extensions: [],
        extraKernelArgs: ["console=ttyS0"],
      });
    expect(ok("v1.10.0").customization?.extraKernelArgs).toEqual(["console=ttyS0"]);
    expect(ok("v1.7.0", true).customization?.extraKernelArgs).toEqual(["console=ttyS0"]);
    expect(() => ok("v1.9.5")).toThrow(expect.objectContaining({ code: "IMAGER_PROFILE_INVALID" }));
    expect(() => ok("v1.5.5", true)).toThrow(expect.objectContaining({ code: "IMAGER_PROFILE_INVALID" }));
  });

  it("refuses misspelled keys, bad arches, unpinned node entries and incompatible extensions", () => {
    const p = installerProfile({ version: "v1.11.2", arch: "amd64", extensions: [] });
    expect(() => validateImagerProfile({ ...p, customisation: {} })).toThrow(
      expect.objectContaining({ code: "IMAGER_PROFILE_INVALID" }),
    );
    expect(() => installerProfile({ version: "v1.11.2", arch: "x86" as "amd64", extensions: [] })).toThrow(
      expect.objectContaining({ code: "IMAGER_PROFILE_INVALID" }),
    );
    expect(() =>
      installerProfile({
        version: "v1.11.2",
        arch: "amd64",
        extensions: [extensionEntry({ name: "m", origin: "node" })],
      }),
    ).toThrow(expect.objectContaining({ code: "IMAGER_PROFILE_INVALID" }));
    expect(() =>
      installerProfile({
        version: "v1.11.2",
        arch: "amd64",
        extensions: [
          extensionEntry({ name: "m", origin: "build", image: `x.io/m:1@${D("2")}`, talos: ">= v1.12.0" }),
        ],
      }),
    ).toThrow(expect.objectContaining({ code: "EXTSET_INCOMPATIBLE" }));
  });

  it("builds the docker command: rootless from 1.13, --privileged before, inputs mounted read-only", () => {
    const p = installerProfile({
      version: "v1.12.1",
      arch: "amd64",
      extensions: [{ tarballPath: "/data/ext.tar" }, { ociPath: "/data/layout" }],
    });
    const d = dockerImagerCommand({ profile: p, outDir: "/tmp/out" });
    expect(d.argv).toEqual([
      "docker",
      "run",
      "--rm",
      "-i",
      "--privileged",
      "-v",
      "/dev:/dev",
      "-v",
      "/tmp/out:/out",
      "-v",
      "/data/ext.tar:/in/ext-0.tar:ro",
      "-v",
      "/data/layout:/in/ext-1:ro",
      "ghcr.io/siderolabs/imager:v1.12.1",
      "-",
    ]);
    expect(d.profile.input.systemExtensions).toEqual([
      { tarballPath: "/in/ext-0.tar" },
      { ociPath: "/in/ext-1" },
    ]);
    const r = dockerImagerCommand({
      profile: installerProfile({ version: "v1.13.0", arch: "amd64", extensions: [] }),
      outDir: "/o",
    });
    expect(r.argv).not.toContain("--privileged");
  });

  it("maps exit codes only from v1.14.0-alpha.2", () => {
    expect(imagerExitClass("v1.14.0", 5)).toBe("dependency");
    expect(imagerExitClass("v1.14.0-alpha.2", 2)).toBe("invalid input");
    expect(imagerExitClass("v1.14.0-alpha.1", 2)).toBe("unknown");
    expect(imagerExitClass("v1.13.4", 5)).toBe("unknown");
  });
});

describe("running the imager (contract double)", () => {
  let reg: RunningRegistry;
  let client: RegistryClient;
  let work: string;
  let base: string;
  beforeAll(async () => {
    reg = await startRegistry();
    client = new RegistryClient({ insecure: true, retryDelayMs: 20 });
    work = await mkdtemp(join(tmpdir(), "talos-ext-imager-"));
    base = `${reg.url}/siderolabs/installer-base:v1.11.2`;
    await pushFilesImage(client, base, [[{ path: "usr/bin/installer", data: "installer", mode: 0o755 }]]);
  });
  afterAll(async () => {
    client?.close();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("builds an installer from tarball, OCI layout and registry extensions; inspection lists them", async () => {
    const tarball = join(work, "multipath.tar");
    await writeFile(
      tarball,
      tarOf([
        { path: "manifest.yaml", data: manifest("multipath-tools", "0.0.5", ">= v1.1.0") },
        { path: "rootfs", dir: true },
        { path: "rootfs/usr/local/bin/multipath", data: "bin", mode: 0o755 },
      ]),
    );
    const iscsiRef = `${reg.url}/siderolabs/iscsi-tools:v0.2.0`;
    const iscsiDigest = await pushFilesImage(
      client,
      iscsiRef,
      [
        [
          { path: "manifest.yaml", data: manifest("iscsi-tools", "v0.2.0", ">= v1.10.0") },
          { path: "rootfs", dir: true },
        ],
      ],
      { asIndex: true },
    );
    const layout = join(work, "gvisor-layout");
    const gvisorRef = `${reg.url}/siderolabs/gvisor:1`;
    await pushFilesImage(client, gvisorRef, [
      [
        { path: "manifest.yaml", data: manifest("gvisor", "20250505.0", "") },
        { path: "rootfs", dir: true },
      ],
    ]);
    await pullLayout(gvisorRef, layout, { insecure: true });
    // Our build as a set entry: manifest from the validated layout, image pinned to the push.
    const gvisorDigest = (await client.getManifest(gvisorRef)).digest;
    const built = await buildEntry(layout, `${gvisorRef}@${gvisorDigest}`, { talosVersion: "v1.11.2" });
    expect(built).toMatchObject({
      name: "gvisor",
      version: "20250505.0",
      origin: "build",
      image: `${gvisorRef}@${gvisorDigest}`,
    });
    await expect(buildEntry(layout, gvisorRef)).rejects.toMatchObject({ code: "EXTSET_INVALID" });
    await expect(
      buildEntry(tarball, `${gvisorRef}@${gvisorDigest}`, { talosVersion: "v1.0.0" }),
    ).rejects.toMatchObject({
      code: "EXTSET_INVALID",
    });

    const profile = installerProfile({
      version: "v1.11.2",
      arch: "amd64",
      platform: "aws",
      extraKernelArgs: ["console=ttyS1"],
      baseInstaller: base,
      extensions: [
        extensionEntry({
          name: "iscsi-tools",
          origin: "official",
          image: `${iscsiRef}@${iscsiDigest}`,
          talos: ">= v1.10.0",
        }),
        { tarballPath: tarball },
        { ociPath: layout },
      ],
    });
    const log = join(work, "imager.log");
    const run = await runImager({
      profile,
      outDir: join(work, "out"),
      imagerBinary: IMAGER,
      env: { IMAGER_DOUBLE_LOG: log },
    });
    expect(run.output).toBe(join(work, "out", "installer-amd64.tar"));
    const report = await inspectInstaller(run.output);
    expect(report).toMatchObject({ talosVersion: "v1.11.2", boot: "uki", layerCount: 2, repoTags: [base] });
    expect(report.uki?.cmdline).toBe("talos.platform=aws slab_nomerge pti=on console=ttyS1");
    expect(report.extensions.map((e) => [e.id, e.name, e.version])).toEqual([
      ["0", "iscsi-tools", "v0.2.0"],
      ["1", "multipath-tools", "0.0.5"],
      ["2", "gvisor", "20250505.0"],
    ]);
  });

  it("<= 1.9 output carries vmlinuz + initramfs.xz, or a signed UKI with SecureBoot", async () => {
    const base19 = `${reg.url}/siderolabs/installer:v1.7.6`;
    // A published <= 1.9 installer has 2 layers: the imager keeps only the first.
    await pushFilesImage(client, base19, [
      [{ path: "usr/bin/installer", data: "i" }],
      [{ path: "usr/install/amd64/vmlinuz", data: "old" }],
    ]);
    const tarball = join(work, "e.tar");
    await writeFile(tarball, tarOf([{ path: "manifest.yaml", data: manifest("e", "1", ">= v1.5.0") }]));
    const run = await runImager({
      profile: installerProfile({
        version: "v1.7.6",
        arch: "amd64",
        baseInstaller: base19,
        extensions: [{ tarballPath: tarball }],
      }),
      outDir: join(work, "out17"),
      imagerBinary: IMAGER,
    });
    const report = await inspectInstaller(run.output);
    expect(report).toMatchObject({ boot: "kernel-initramfs", layerCount: 2, initramfsStreams: ["xz"] });
    expect(report.extensions.map((e) => e.name)).toEqual(["e"]);
    // 1.6-1.9 SecureBoot: kernel args accepted, a signed UKI shipped as vmlinuz.efi.signed.
    const sb = await runImager({
      profile: installerProfile({
        version: "v1.7.6",
        arch: "amd64",
        secureboot: true,
        extraKernelArgs: ["console=ttyS0"],
        baseInstaller: base19,
        extensions: [{ tarballPath: tarball }],
      }),
      outDir: join(work, "out17sb"),
      imagerBinary: IMAGER,
    });
    expect(sb.output).toBe(join(work, "out17sb", "installer-amd64-secureboot.tar"));
    const sbReport = await inspectInstaller(sb.output);
    expect(sbReport.boot).toBe("uki");
    expect(sbReport.assets).toContain("usr/install/amd64/vmlinuz.efi.signed");
    expect(sbReport.uki?.cmdline).toContain("console=ttyS0");
    expect(sbReport.extensions.map((e) => e.name)).toEqual(["e"]);
  });

  it("maps imager failures to IMAGER_FAILED with the exit class, and missing binaries to IMAGER_NOT_FOUND", async () => {
    const tarball = join(work, "new.tar");
    await writeFile(tarball, tarOf([{ path: "manifest.yaml", data: manifest("new", "1", ">= v1.15.0") }]));
    const profile = installerProfile({
      version: "v1.14.0",
      arch: "amd64",
      baseInstaller: base,
      extensions: [{ tarballPath: tarball }],
    });
    await expect(
      runImager({ profile, outDir: join(work, "o1"), imagerBinary: IMAGER }),
    ).rejects.toMatchObject({
      code: "IMAGER_FAILED",
      exitCode: 2,
      exitClass: "invalid input",
    });
    const old = installerProfile({ version: "v1.13.0", arch: "amd64", baseInstaller: base, extensions: [] });
    await expect(
      runImager({
        profile: old,
        outDir: join(work, "o2"),
        imagerBinary: IMAGER,
        env: { IMAGER_DOUBLE_FAIL: "5" },
      }),
    ).rejects.toMatchObject({ code: "IMAGER_FAILED", exitCode: 1, exitClass: "unknown" });
    await expect(
      runImager({ profile: old, outDir: join(work, "o3"), imagerBinary: join(work, "nope") }),
    ).rejects.toMatchObject({
      code: "IMAGER_NOT_FOUND",
    });
  });
});
