/** The shared inputs: one generated rootfs and one OCI layout of it, made on first use. */
import { mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateRootfs } from "./gen/rootfs.ts";
import { loadImage } from "./modules.ts";
import type { Fixtures, RootfsInfo } from "./types.ts";

const MiB = 1 << 20;

export async function createFixtures(quick: boolean, log: (line: string) => void): Promise<Fixtures> {
  const root = await mkdtemp(join(tmpdir(), "talos-ext-bench-"));
  let rootfs: Promise<RootfsInfo> | undefined;
  let layoutDir: string | undefined;
  let layout: Promise<string> | undefined;
  let work = 0;

  const fixtures: Fixtures = {
    rootfs() {
      rootfs ??= (async () => {
        const dir = join(root, "rootfs");
        await mkdir(dir);
        const size = (quick ? 50 : 500) * MiB;
        log(`generating a rootfs of about ${Math.round(size / 1e6)} MB in ${dir}`);
        return generateRootfs(dir, size);
      })();
      return rootfs;
    },
    hasLayout() {
      return layoutDir !== undefined || layout !== undefined;
    },
    async adoptLayout(dir: string) {
      const target = join(root, "layout");
      await rename(dir, target);
      layoutDir = target;
    },
    layout() {
      if (layoutDir) return Promise.resolve(layoutDir);
      layout ??= (async () => {
        const image = await loadImage();
        const info = await fixtures.rootfs();
        const target = join(root, "layout");
        log("writing the OCI layout of the rootfs (gzip level 1)");
        await image.writeOciLayout(target, [{ platform: "linux/amd64", layers: [info.dir] }], {
          sourceDateEpoch: 0,
          compression: "gzip",
          level: 1,
          refName: "v1",
        });
        layoutDir = target;
        return target;
      })();
      return layout;
    },
    async workDir(label: string) {
      const dir = join(root, `work-${label}-${work++}`);
      await mkdir(dir);
      return dir;
    },
    async cleanup() {
      await rm(root, { recursive: true, force: true });
    },
  };
  return fixtures;
}
