/**
 * installer: (a) schematic IDs of 10,000 different schematics, in µs each; (b) inspecting a
 * ~300 MB installer (a docker-archive in the imager double's format: a UKI whose .initrd holds
 * the stock initramfs and a zstd extension stream of three 100 MB squashfs images) with
 * `inspectInstaller`, against the shell pipeline that gets at the same bytes: the artifacts
 * layer out of the archive, the UKI out of the layer, its .initrd (objdump, dd), `zstd -d` of every
 * frame. `cpio -t` is left out of the baseline: GNU cpio stops at the first archive's trailer,
 * which would end the pipeline before the extension stream is read. (c) Peak RSS of a process
 * that only inspects, against the file size.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  artifactsLayer,
  buildInitramfs,
  buildUki,
  dockerArchive,
  tarOf,
} from "../../doubles/imager-format.ts";
import { available, compare, mib, round3, run, sh } from "../lib.ts";
import { REPO_ROOT } from "../modules.ts";
import { type BenchCase, type CaseContext, type Row, ratio, Skip } from "../types.ts";

type InstallerModule = typeof import("../../../packages/installer/src/index.ts");

const ID_AIM_US = 100;
const INSPECT_AIM = 1.5;
const MODULE = process.env.BENCH_INSTALLER_MODULE ?? join(REPO_ROOT, "packages/installer/dist/index.js");

async function loadInstaller(): Promise<InstallerModule> {
  try {
    return (await import(pathToFileURL(MODULE).href)) as InstallerModule;
  } catch (cause) {
    throw new Error(`cannot import ${MODULE}: ${(cause as Error).message}; build the packages first`, {
      cause,
    });
  }
}

async function idRow(ctx: CaseContext, mod: InstallerModule): Promise<Row> {
  const count = ctx.quick ? 1000 : 10_000;
  const official = [
    "iscsi-tools",
    "util-linux-tools",
    "qemu-guest-agent",
    "drbd",
    "zfs",
    "nvidia-open-gpu-kernel-modules-lts",
  ];
  const schematics = Array.from({ length: count }, (_, i) => ({
    customization: {
      extraKernelArgs: [`console=ttyS${i % 4}`, `net.ifnames=${i % 2}`, `x-bench=${i}`],
      systemExtensions: {
        officialExtensions: official.filter((_, k) => (i >> k) & 1).map((n) => `siderolabs/${n}`),
      },
    },
  }));
  let last = "";
  const t = await compare(
    [
      {
        name: "ours",
        run: async () => {
          for (const s of schematics) last = mod.schematicId(s);
        },
      },
    ],
    { runs: Math.max(ctx.runs, 5), warmup: Math.max(ctx.warmup, 1), log: ctx.log },
  );
  if (!/^[0-9a-f]{64}$/.test(last)) throw new Error(`schematicId returned ${last}`);
  const ours = t.get("ours")!;
  const us = round3((ours.medianMs * 1000) / count);
  return {
    measure: `schematic IDs of ${count} schematics (canonical YAML + sha256)`,
    ours,
    aim: `< ${ID_AIM_US} µs each (no baseline: the factory computes them server-side)`,
    met: us < ID_AIM_US,
    details: { schematics: count, usPerId: us },
  };
}

/** The installer file; the extension images are random, so the file is as large as they are. */
async function writeInstaller(dir: string, quick: boolean): Promise<string> {
  const each = (quick ? 10 : 100) * 1024 * 1024;
  const extensions = ["alpha", "beta", "gamma"].map((name) => ({
    name,
    version: "1.0.0",
    squashfs: randomBytes(each),
  }));
  const initrd = buildInitramfs({ compression: "zstd", extensions });
  const uki = buildUki({ version: "v1.14.1", cmdline: "talos.platform=metal", initrd });
  const archive = dockerArchive({
    arch: "amd64",
    layers: [
      tarOf([{ path: "usr/bin/installer", data: "base" }]),
      artifactsLayer([{ path: "usr/install/amd64/vmlinuz.efi", data: uki }]),
    ],
  });
  const file = join(dir, "installer-amd64.tar");
  await writeFile(file, archive);
  return file;
}

async function inspectRows(ctx: CaseContext, mod: InstallerModule): Promise<Row[]> {
  for (const tool of ["objdump", "zstd"]) {
    if (!(await available(tool))) throw new Skip(`${tool} is not installed (tools/bootstrap installs it)`);
  }
  const dir = await ctx.fixtures.workDir("installer");
  const file = await writeInstaller(dir, ctx.quick);
  const size = (await import("node:fs")).statSync(file).size;
  ctx.note(`installer: ${mib(size)} docker-archive, 3 extensions of random data`);
  // The artifacts layer is the archive's last .tar.gz member (the imager's positional rule).
  const layer = (await run("tar", ["-tf", file])).stdout
    .split("\n")
    .filter((n) => n.endsWith(".tar.gz"))
    .pop();
  if (!layer) throw new Error("no layer in the installer archive");
  // The section's offset and size from objdump, its bytes with dd (objcopy honours the
  // section's read flag, which the double's PE does not set).
  const pipeline = [
    `tar -xOf ${file} ${layer} | tar -xzO usr/install/amd64/vmlinuz.efi > ${dir}/uki.efi`,
    `read size off < <(objdump -h ${dir}/uki.efi | awk '$2==".initrd"{print $3, $6}')`,
    `dd if=${dir}/uki.efi iflag=skip_bytes,count_bytes skip=$((0x$off)) count=$((0x$size)) bs=1M status=none | zstd -dcq > /dev/null`,
  ].join(" && ");
  let found = 0;
  const t = await compare(
    [
      {
        name: "ours",
        run: async () => {
          found = (await mod.inspectInstaller(file)).extensions.length;
        },
      },
      { name: "shell", run: () => sh(pipeline) },
    ],
    { runs: Math.max(ctx.runs, 3), warmup: Math.max(ctx.warmup, 1), log: ctx.log },
  );
  if (found !== 3) throw new Error(`inspectInstaller found ${found} extensions, expected 3`);
  const ours = t.get("ours")!;
  const base = t.get("shell")!;
  const r = ratio(ours, base);
  // Peak RSS of a process that does nothing but the inspection: VmHWM, which starts afresh at
  // exec (getrusage's maxrss keeps the high-water mark of the forking parent, this bench).
  const peakOf = (body: string) =>
    run(process.execPath, [
      "--input-type=module",
      "-e",
      `import { readFileSync } from "node:fs"; ${body}; process.stdout.write(/VmHWM:\\s+(\\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))[1]);`,
    ]).then((r) => Number(r.stdout) * 1024);
  const url = JSON.stringify(pathToFileURL(MODULE).href);
  const rss = await peakOf(
    `const m = await import(${url}); await m.inspectInstaller(${JSON.stringify(file)})`,
  );
  const idle = await peakOf(`await import(${url})`);
  ctx.note(
    `peak RSS of a process that only inspects: ${mib(rss)} (${mib(idle)} with the module loaded and nothing read) for a ${mib(size)} file`,
  );
  return [
    {
      measure: `inspect a ${mib(size)} installer: inspectInstaller vs tar -xO | objdump+dd | zstd -d`,
      ours,
      baseline: { name: "tar | dd | zstd", command: pipeline.replaceAll(dir, "$WORK"), timing: base },
      ratio: r,
      aim: `<= ${INSPECT_AIM}x the shell pipeline`,
      met: r <= INSPECT_AIM,
      details: {
        bytes: size,
        peakRss: mib(rss),
        moduleLoadedRss: mib(idle),
        rssBoundedWellUnderFile: rss - idle < size / 4,
      },
    },
  ];
}

export const installerCase: BenchCase = {
  name: "installer",
  title: "installer: schematic IDs; inspection of a ~300 MB installer vs tar | dd | zstd, peak RSS",
  async run(ctx: CaseContext): Promise<Row[]> {
    const mod = await loadInstaller();
    return [await idRow(ctx, mod), ...(await inspectRows(ctx, mod))];
  },
};
