/**
 * Inputs made by the real tools the imager uses: GNU cpio (newc, -R +0:+0), the zstd and xz
 * binaries, and binutils' objcopy adding the .initrd section to a PE file (the way UKIs were
 * assembled before ukify). Inspection must read them as it reads the imager's output.
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { artifactsLayer, buildPe, dockerArchive, tarOf } from "../../../tools/doubles/imager-format.ts";
import { inspectInstaller, readInitramfs } from "../src/index.ts";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "talos-ext-realtools-"));
});
afterAll(() => rm(work, { recursive: true, force: true }));

/** `find . | sort | cpio -H newc` of `files` under a fresh directory, as the Talos Dockerfile does. */
async function cpioOf(
  name: string,
  files: Record<string, string | Buffer>,
  compressor?: string[],
): Promise<Buffer> {
  const dir = join(work, name);
  for (const [p, data] of Object.entries(files)) {
    await mkdir(join(dir, p, ".."), { recursive: true });
    await writeFile(join(dir, p), data);
  }
  const script = `find . -mindepth 1 | LC_ALL=C sort | cpio -H newc -o -R +0:+0 --quiet${compressor ? ` | ${compressor.join(" ")}` : ""}`;
  return execFileSync("sh", ["-c", script], { cwd: dir, maxBuffer: 1 << 28 });
}

const EXT_YAML =
  'layers:\n    - image: 0.sqsh\n      metadata:\n        name: real-ext\n        version: "1.2.3"\n        author: Someone\n';

describe("inputs made by real tools", () => {
  it("GNU cpio + zstd streams (concatenated) and an uncompressed microcode cpio in front", async () => {
    const micro = await cpioOf("micro", { "kernel/x86/microcode/GenuineIntel.bin": Buffer.alloc(100, 1) });
    const stock = await cpioOf("stock", { init: "init", "rootfs.sqsh": Buffer.alloc(70000, 2) }, [
      "zstd",
      "-q",
      "-T0",
      "-18",
    ]);
    const ext = await cpioOf("ext", { "0.sqsh": "hsqs", "extensions.yaml": EXT_YAML }, [
      "zstd",
      "-q",
      "-T0",
      "-18",
    ]);
    const r = await readInitramfs(Buffer.concat([micro, stock, ext]));
    expect(r.streams).toEqual(["none", "zstd"]);
    expect(r.files.get("rootfs.sqsh")).toBe(70000);
    expect(r.extensionsYaml).toBe(EXT_YAML);
  });

  it("xz -C crc32 streams, as Talos < 1.8 wrote them", async () => {
    const xz = ["xz", "-C", "crc32", "-0", "-e", "-c"];
    const stock = await cpioOf("stock-xz", { init: "init", "rootfs.sqsh": "r" }, xz);
    const ext = await cpioOf("ext-xz", { "0.sqsh": "hsqs", "extensions.yaml": EXT_YAML }, xz);
    const r = await readInitramfs(Buffer.concat([stock, ext]));
    expect(r.streams).toEqual(["xz"]);
    expect(r.extensionsYaml).toBe(EXT_YAML);
  });

  it("a PE file whose .initrd section objcopy added", async () => {
    const stock = await cpioOf("stock-pe", { init: "init", "rootfs.sqsh": "r" }, ["zstd", "-q", "-19"]);
    const ext = await cpioOf("ext-pe", { "0.sqsh": "hsqs", "extensions.yaml": EXT_YAML }, [
      "zstd",
      "-q",
      "-19",
    ]);
    const initrd = join(work, "initrd");
    await writeFile(initrd, Buffer.concat([stock, ext]));
    const base = join(work, "base.efi");
    await writeFile(
      base,
      buildPe([
        { name: ".osrel", data: 'NAME="Talos"\nID=talos\nVERSION_ID=v1.12.3\n' },
        { name: ".cmdline", data: "talos.platform=metal console=tty0" },
        { name: ".linux", data: Buffer.alloc(4096, 0x4b) },
      ]),
    );
    const uki = join(work, "vmlinuz.efi");
    execFileSync("objcopy", [
      "--add-section",
      `.initrd=${initrd}`,
      "--change-section-vma",
      ".initrd=0x3000000",
      "--set-section-flags",
      ".initrd=data,readonly",
      base,
      uki,
    ]);
    // binutils reads the section table back.
    expect(execFileSync("objdump", ["-h", uki]).toString()).toMatch(/\.initrd/);
    const file = join(work, "installer-objcopy.tar");
    await writeFile(
      file,
      dockerArchive({
        arch: "amd64",
        layers: [
          tarOf([{ path: "usr/bin/installer", data: "i" }]),
          artifactsLayer([{ path: "usr/install/amd64/vmlinuz.efi", data: await readFile(uki) }]),
        ],
      }),
    );
    const r = await inspectInstaller(file);
    expect(r).toMatchObject({ talosVersion: "v1.12.3", boot: "uki" });
    expect(r.uki?.cmdline).toBe("talos.platform=metal console=tty0");
    expect(r.extensions.map((e) => [e.name, e.version, e.present])).toEqual([["real-ext", "1.2.3", true]]);
  });
});
