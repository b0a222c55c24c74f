/**
 * oci-writer: writeOciLayout of a generated rootfs (one layer) against the tools people use to
 * make a layer from a directory: `tar | gzip -1`, `tar | zstd -3`, and `umoci insert`.
 */
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { available, compare, mib, sh } from "../lib.ts";
import { loadImage } from "../modules.ts";
import { type BenchCase, type CaseContext, type Row, ratio, Skip } from "../types.ts";

const AIM_TAR = 1.3;

/** Size of the biggest blob in a layout: the layer. */
async function layerSize(layout: string): Promise<number> {
  const dir = join(layout, "blobs/sha256");
  let max = 0;
  for (const name of await readdir(dir)) max = Math.max(max, (await stat(join(dir, name))).size);
  return max;
}

function q(path: string): string {
  return `'${path.replaceAll("'", "'\\''")}'`;
}

export const ociWriterCase: BenchCase = {
  name: "oci-writer",
  title: "writeOciLayout of a rootfs vs tar | gzip -1, tar | zstd -3 (-T0) and umoci insert",
  // Each full-size run takes seconds; the freshly generated rootfs is already in the page cache.
  defaults: (quick) => (quick ? { runs: 3, warmup: 1 } : { runs: 3, warmup: 0 }),
  async run(ctx: CaseContext): Promise<Row[]> {
    const image = await loadImage();
    for (const tool of ["tar", "gzip", "zstd"]) {
      if (!(await available(tool))) throw new Skip(`${tool} is not installed (tools/bootstrap installs it)`);
    }
    const haveUmoci = await available("umoci", ["--version"]);
    if (!haveUmoci) ctx.note("umoci is not installed: the umoci comparison is skipped");

    const rootfs = await ctx.fixtures.rootfs();
    ctx.note(
      `rootfs: ${mib(rootfs.bytes)} in ${rootfs.files} files, ${rootfs.dirs} dirs, ${rootfs.symlinks} symlinks`,
    );
    const work = await ctx.fixtures.workDir("oci-writer");
    const ours = join(work, "ours");
    const umociLayout = join(work, "umoci");
    const outTar = join(work, "baseline.tar");
    const clean = async () => {
      await rm(ours, { recursive: true, force: true });
      await rm(umociLayout, { recursive: true, force: true });
      await rm(outTar, { recursive: true, force: true });
    };
    const sizes: Record<string, number> = {};
    const rows: Row[] = [];
    try {
      for (const compression of ["gzip", "zstd"] as const) {
        const level = compression === "gzip" ? 1 : 3;
        const tarCmd =
          compression === "gzip"
            ? `tar -C ${q(rootfs.dir)} -cf - . | gzip -1 > ${q(outTar)}.gz`
            : `tar -C ${q(rootfs.dir)} -cf - . | zstd -3 -q > ${q(outTar)}.zst`;
        const umociCmd = `umoci insert --rootless --image ${q(umociLayout)}:t ${q(rootfs.dir)} /`;
        const contenders = [
          {
            name: "ours",
            run: () =>
              image.writeOciLayout(ours, [{ platform: "linux/amd64", layers: [rootfs.dir] }], {
                sourceDateEpoch: 0,
                compression,
                level,
                refName: "v1",
              }),
            after: async () => {
              sizes[`ours-${compression}`] = await layerSize(ours);
              // The push case reuses a gzip layout rather than writing another one.
              if (compression === "gzip" && !ctx.fixtures.hasLayout()) await ctx.fixtures.adoptLayout(ours);
              await rm(ours, { recursive: true, force: true });
            },
          },
          {
            name: compression === "gzip" ? "tar|gzip" : "tar|zstd",
            run: () => sh(tarCmd),
            after: async () => {
              const file = `${outTar}.${compression === "gzip" ? "gz" : "zst"}`;
              sizes[`tar-${compression}`] = (await stat(file)).size;
              await rm(file, { force: true });
            },
          },
        ];
        // zstd's own threads (one per core): the aim for zstd layers is this pipeline.
        const tarT0Cmd = `tar -C ${q(rootfs.dir)} -cf - . | zstd -3 -T0 -q > ${q(outTar)}.zst`;
        if (compression === "zstd") {
          contenders.push({
            name: "tar|zstd -T0",
            run: () => sh(tarT0Cmd),
            after: async () => {
              sizes["tar-zstd-T0"] = (await stat(`${outTar}.zst`)).size;
              await rm(`${outTar}.zst`, { force: true });
            },
          } as (typeof contenders)[number]);
        }
        if (compression === "gzip" && haveUmoci) {
          contenders.push({
            name: "umoci",
            // The empty image is set-up, not part of the measured work.
            before: async () => {
              await rm(umociLayout, { recursive: true, force: true });
              await sh(`umoci init --layout ${q(umociLayout)} && umoci new --image ${q(umociLayout)}:t`);
            },
            run: () => sh(umociCmd),
            after: async () => {
              sizes.umoci = await layerSize(umociLayout);
              await rm(umociLayout, { recursive: true, force: true });
            },
          } as (typeof contenders)[number]);
        }
        const t = await compare(contenders, { runs: ctx.runs, warmup: ctx.warmup, log: ctx.log });
        const oursT = t.get("ours")!;
        const tarName = contenders[1]!.name;
        const tarT = t.get(tarName)!;
        const r = ratio(oursT, tarT);
        rows.push({
          measure: `${compression} level ${level}: writeOciLayout vs ${tarName}`,
          ours: oursT,
          baseline: {
            name: tarName.replace("|", " | "),
            command: tarCmd.replaceAll(work, "$WORK"),
            timing: tarT,
          },
          ratio: r,
          aim: `<= ${AIM_TAR}x tar | ${compression}`,
          met: r <= AIM_TAR,
          details: {
            rootfsBytes: rootfs.bytes,
            oursLayerBytes: sizes[`ours-${compression}`],
            baselineBytes: sizes[`tar-${compression}`],
            oursMiBPerSecond: Math.round(rootfs.bytes / (1 << 20) / (oursT.medianMs / 1000)),
          },
        });
        const t0T = t.get("tar|zstd -T0");
        if (t0T) {
          const r0 = ratio(oursT, t0T);
          rows.push({
            measure: "zstd level 3: writeOciLayout vs tar | zstd -3 -T0",
            ours: oursT,
            baseline: { name: "tar | zstd -3 -T0", command: tarT0Cmd.replaceAll(work, "$WORK"), timing: t0T },
            ratio: r0,
            aim: "<= 1.0x tar | zstd -3 -T0",
            met: r0 <= 1,
            details: { oursLayerBytes: sizes["ours-zstd"], baselineBytes: sizes["tar-zstd-T0"] },
          });
        }
        const umociT = t.get("umoci");
        if (umociT) {
          const ru = ratio(oursT, umociT);
          rows.push({
            measure: "gzip level 1: writeOciLayout vs umoci insert",
            ours: oursT,
            baseline: {
              name: "umoci insert",
              command: umociCmd.replaceAll(work, "$WORK"),
              timing: umociT,
            },
            ratio: ru,
            aim: "< 1x umoci (faster)",
            met: ru < 1,
            details: {
              oursLayerBytes: sizes["ours-gzip"],
              umociLayerBytes: sizes.umoci,
              note: "umoci 0.4 compresses at its default level with parallel gzip; its layer is not level-matched",
            },
          });
        }
      }
    } finally {
      await clean();
      await rm(work, { recursive: true, force: true });
    }
    return rows;
  },
};
