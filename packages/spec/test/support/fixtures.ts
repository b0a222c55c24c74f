/**
 * Test fixtures: a known-good multipath-tools extension described as data, written out as an
 * in-memory tree, a directory, a tar or an OCI layout, so each test states only its difference.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import type { ExtensionEntry, ExtensionTree } from "../../src/extension/tree.ts";
import { type TarSpec, writeTar } from "./tar-writer.ts";

export type FixtureNode =
  | string
  | { type: "file"; data: string; mode?: number }
  | { type: "dir"; mode?: number }
  | { type: "symlink"; target: string }
  | { type: "fifo" | "char" | "block" | "socket" };

/** path → content; `undefined` removes a path from a base fixture. */
export type Fixture = Record<string, FixtureNode | undefined>;

export const GOOD_MANIFEST = `version: v1alpha1
metadata:
  name: multipath-tools
  version: "0.13.0"
  author: Example Org
  description: |
    [extra] Provides multipathd and multipath tools.
  compatibility:
    talos:
      version: ">= v1.10.0"
`;

export const GOOD_SERVICE = `name: multipathd
container:
  entrypoint: /usr/local/sbin/multipathd
  args: ["-d", "-s"]
  security:
    writeableRootfs: true
    maskedPaths: []
    readonlyPaths: []
  mounts:
    - source: /lib
      destination: /lib
      type: bind
      options: [bind, ro]
    - source: /usr/local/lib
      destination: /usr/local/lib
      type: bind
      options: [bind, ro]
    - source: /usr/local/sbin
      destination: /usr/local/sbin
      type: bind
      options: [bind, ro]
    - source: /dev
      destination: /dev
      type: bind
      options: [rbind, rw]
    - source: /run/udev
      destination: /run/udev
      type: bind
      options: [bind, ro]
depends:
  - network: [addresses, connectivity, hostname, etcfiles]
  - service: udevd
  - path: /dev/mapper/control
restart: always
`;

/** The known-good extension every test starts from. */
export function goodExtension(overrides: Fixture = {}): Fixture {
  return {
    "manifest.yaml": GOOD_MANIFEST,
    "rootfs/usr/local/etc/containers/multipathd.yaml": GOOD_SERVICE,
    "rootfs/usr/local/lib/containers/multipathd": { type: "dir" },
    "rootfs/usr/local/sbin/multipathd": { type: "file", data: "\x7fELF", mode: 0o755 },
    "rootfs/usr/local/sbin/multipath": { type: "file", data: "\x7fELF", mode: 0o755 },
    "rootfs/usr/local/lib/libgcc_s.so.1": "lib",
    "rootfs/usr/lib/udev/rules.d/11-dm-mpath.rules": "# rules\n",
    ...overrides,
  };
}

function nodes(fixture: Fixture): [string, Exclude<FixtureNode, string>][] {
  return Object.entries(fixture)
    .filter((e): e is [string, FixtureNode] => e[1] !== undefined)
    .map(([p, n]) => [p, typeof n === "string" ? { type: "file", data: n } : n]);
}

const enc = new TextEncoder();

/** The fixture as an in-memory tree with synchronous reads (like the image builder's). */
export function memoryTree(fixture: Fixture, source = "mem"): ExtensionTree {
  const entries: ExtensionEntry[] = nodes(fixture).map(([path, n]) => {
    switch (n.type) {
      case "file": {
        const data = enc.encode(n.data);
        return { path, type: "file", mode: n.mode ?? 0o644, size: data.length, read: () => data };
      }
      case "dir":
        return { path, type: "dir", mode: n.mode ?? 0o755, size: 0 };
      case "symlink":
        return { path, type: "symlink", mode: 0o777, size: n.target.length, linkTarget: n.target };
      default:
        return { path, type: n.type, mode: 0o644, size: 0 };
    }
  });
  return { source, entries };
}

/** Writes the fixture into `dir` (fifos via mkfifo; device nodes are not supported here). */
export async function writeFixtureDir(dir: string, fixture: Fixture): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const [path, n] of nodes(fixture)) {
    const full = join(dir, path);
    await mkdir(n.type === "dir" ? full : dirname(full), { recursive: true });
    if (n.type === "file") {
      await writeFile(full, n.data);
      await chmod(full, n.mode ?? 0o644);
    } else if (n.type === "symlink") await symlink(n.target, full);
    else if (n.type === "fifo") execFileSync("mkfifo", [full]);
    else if (n.type !== "dir") throw new Error(`cannot create a ${n.type} node without privileges`);
  }
  return dir;
}

/** The fixture as tar members (directories included, parents first). */
export function tarSpecs(fixture: Fixture, prefix = ""): TarSpec[] {
  const type = { file: "0", dir: "5", symlink: "2", fifo: "6", char: "3", block: "4" } as const;
  return nodes(fixture).map(([path, n]): TarSpec => {
    if (n.type === "socket") throw new Error("tar cannot hold sockets");
    const spec: TarSpec = { name: prefix + path + (n.type === "dir" ? "/" : ""), type: type[n.type] };
    if (n.type === "file") {
      spec.data = n.data;
      spec.mode = n.mode ?? 0o644;
    }
    if (n.type === "symlink") spec.linkname = n.target;
    return spec;
  });
}

export const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

export interface OciLayer {
  specs: TarSpec[];
  gzip?: boolean;
}

/**
 * Writes an OCI layout holding one image per platform (an index when there are several), each
 * made of the given layers. Returns the layout directory.
 */
export async function writeOciLayout(
  dir: string,
  images: { platform: string; layers: OciLayer[]; platformInIndex?: boolean }[],
  options: { nestIndex?: boolean } = {},
): Promise<string> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  const blob = async (bytes: Uint8Array, mediaType: string) => {
    const digest = sha256(bytes);
    await writeFile(join(dir, "blobs", "sha256", digest), bytes);
    return { mediaType, digest: `sha256:${digest}`, size: bytes.length };
  };
  const json = (v: unknown) => enc.encode(JSON.stringify(v));
  const manifests = [];
  for (const image of images) {
    const [os, architecture, variant] = image.platform.split("/");
    const layers = [];
    const diffIds = [];
    for (const layer of image.layers) {
      const tar = writeTar(layer.specs);
      diffIds.push(`sha256:${sha256(tar)}`);
      layers.push(
        layer.gzip
          ? await blob(gzipSync(tar), "application/vnd.oci.image.layer.v1.tar+gzip")
          : await blob(tar, "application/vnd.oci.image.layer.v1.tar"),
      );
    }
    const config = await blob(
      json({
        os,
        architecture,
        ...(variant ? { variant } : {}),
        rootfs: { type: "layers", diff_ids: diffIds },
        config: {},
      }),
      "application/vnd.oci.image.config.v1+json",
    );
    const manifest = await blob(
      json({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers }),
      "application/vnd.oci.image.manifest.v1+json",
    );
    manifests.push(
      image.platformInIndex === false
        ? manifest
        : { ...manifest, platform: { os, architecture, ...(variant ? { variant } : {}) } },
    );
  }
  let top: unknown[] = manifests;
  if (options.nestIndex) {
    const nested = await blob(
      json({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests }),
      "application/vnd.oci.image.index.v1+json",
    );
    top = [nested];
  }
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: top,
    }),
  );
  return dir;
}
