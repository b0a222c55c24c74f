/**
 * The C toolchain image the example extensions build with: Debian bookworm (gcc, libc6-dev, make)
 * made offline-friendly with debootstrap from Debian's archive, imported into the docker engine
 * under a local name. Extensions reach it through the image mirror map, so their pkg.yaml keeps
 * a normal registry reference.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";

export const TOOLCHAIN_IMAGE = "talos-ext.local/toolchain:bookworm";
const CACHE = "/var/cache/talos-ext";
const ROOTFS_TAR = `${CACHE}/toolchain-bookworm.tar`;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", env, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout.slice(-2000)}`);
  }
  return r.stdout;
}

/** Builds the rootfs tarball once per machine (about a minute), then reuses it. */
export function toolchainRootfsTar(): string {
  if (existsSync(ROOTFS_TAR)) return ROOTFS_TAR;
  mkdirSync(CACHE, { recursive: true });
  // Per-process temp names: two runs building at once must not share a directory.
  const dir = `${CACHE}/toolchain-rootfs.${process.pid}.tmp`;
  rmSync(dir, { recursive: true, force: true });
  run("debootstrap", [
    "--variant=minbase",
    "--include=gcc,libc6-dev,make",
    "bookworm",
    dir,
    "http://deb.debian.org/debian",
  ]);
  run("tar", ["-C", dir, "--numeric-owner", "-cf", `${ROOTFS_TAR}.${process.pid}.tmp`, "."]);
  renameSync(`${ROOTFS_TAR}.${process.pid}.tmp`, ROOTFS_TAR);
  rmSync(dir, { recursive: true, force: true });
  return ROOTFS_TAR;
}

/** Makes sure the engine at `host` has the toolchain image; returns its local name. */
export function ensureToolchainImage(cli: string, host: string): string {
  const env = { ...process.env, DOCKER_HOST: host };
  if (spawnSync(cli, ["image", "inspect", TOOLCHAIN_IMAGE], { env }).status === 0) return TOOLCHAIN_IMAGE;
  const tar = toolchainRootfsTar();
  run(cli, ["import", tar, TOOLCHAIN_IMAGE], env);
  return TOOLCHAIN_IMAGE;
}
