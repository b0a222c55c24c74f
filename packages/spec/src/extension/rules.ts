/**
 * The data behind Talos's extension rules, per Talos version: the path allow-list
 * (`pkg/machinery/extensions` AllowedPaths, by release), extensions-validator's version formats,
 * and the names our lints need.
 */
import { minorOf, parseTalosVersion, type TalosVersionInfo } from "./semver.ts";

/** A Talos version as text, e.g. `v1.13.0` (parsed where needed). */
export type TalosVersionText = string;

/** Before the usr-merge (Talos ≤ 1.9). */
const LEGACY_PREFIXES = [
  "/etc/cri/conf.d",
  "/lib/firmware",
  "/lib/modules",
  "/lib64/ld-linux-x86-64.so.2",
  "/sbin/ldconfig",
  "/usr/lib/udev/rules.d",
  "/usr/local",
  "/usr/share/glvnd",
  "/usr/share/egl",
  "/etc/vulkan",
] as const;

/** Talos 1.10 and 1.11. */
const USR_MERGED_PREFIXES = [
  "/etc/cri/conf.d",
  "/usr/lib/firmware",
  "/usr/lib/modules",
  "/usr/lib/ld-linux-x86-64.so.2",
  "/usr/bin/ldconfig",
  "/usr/lib/udev/rules.d",
  "/usr/local",
  "/usr/share/glvnd",
  "/usr/share/egl",
  "/etc/vulkan",
] as const;

/** Talos 1.12: adds the arm64 loader. */
const V1_12_PREFIXES = [...USR_MERGED_PREFIXES, "/usr/lib/ld-linux-aarch64.so.1"] as const;

/** Talos 1.13 and later (current). */
const V1_13_PREFIXES = [
  ...V1_12_PREFIXES,
  "/etc/ld.so.conf",
  "/etc/ld.so.cache",
  "/usr/bin/nvidia-modprobe",
  "/usr/bin/nvidia-pcc",
  "/usr/bin/nvidia-smi",
  "/usr/bin/nvidia-ctk",
  "/usr/bin/nvidia-cdi-hook",
  "/usr/bin/nvme",
] as const;

function versionInfo(v: TalosVersionText | TalosVersionInfo): TalosVersionInfo {
  return typeof v === "string" ? parseTalosVersion(v) : v;
}

/** True when the Talos version is at least `major.minor`. */
export function atLeast(v: TalosVersionText | TalosVersionInfo, major: number, minor: number): boolean {
  const [M, m] = minorOf(versionInfo(v));
  return M > major || (M === major && m >= minor);
}

/** The absolute path prefixes Talos accepts for non-directories in `rootfs/`, for that release. */
export function allowedPathPrefixes(talosVersion: TalosVersionText | TalosVersionInfo): readonly string[] {
  const v = versionInfo(talosVersion);
  if (!atLeast(v, 1, 10)) return LEGACY_PREFIXES;
  if (!atLeast(v, 1, 12)) return USR_MERGED_PREFIXES;
  if (!atLeast(v, 1, 13)) return V1_12_PREFIXES;
  return V1_13_PREFIXES;
}

/** Talos's own test: a raw string prefix, so `/usr/localfoo` passes via `/usr/local`. */
export function isPathAllowed(absPath: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => absPath.startsWith(p));
}

/** The same test on path boundaries: `p` itself or something below `p/`. */
export function isPathAllowedOnBoundary(absPath: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => absPath === p || absPath.startsWith(`${p}/`));
}

/** extensions-validator's accepted `metadata.version` formats (RE2 patterns that mean the same in JS). */
export const VERSION_FORMATS = {
  semver: /^v?(\d+\.\d+\.\d+(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)$/,
  date: /^\d{8}(\.\d)?$/,
  buildArg:
    /^(\d+\.\d+\.\d+)-v(\d+\.\d+\.\d+(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)(-(\d+)-g([0-9a-f]+)(-dirty)?)?$/,
  commitBuildArg:
    /^([0-9a-f]+)-v(\d+\.\d+\.\d+(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)(-(\d+)-g([0-9a-f]+)(-dirty)?)?$/,
  partialSemver: /^v?(\d+\.\d+)$/,
} as const satisfies Record<string, RegExp>;

/** A version format an extension version can follow (a key of {@link VERSION_FORMATS}). */
export type VersionFormat = keyof typeof VERSION_FORMATS;

/** Which format `version` matches, if any. */
export function matchVersionFormat(version: string): VersionFormat | undefined {
  for (const [name, re] of Object.entries(VERSION_FORMATS))
    if (re.test(version)) return name as VersionFormat;
  return undefined;
}

/** Talos's own service IDs an extension service may depend on. */
export const TALOS_SERVICES: readonly string[] = [
  "apid",
  "auditd",
  "containerd",
  "cri",
  "dashboard",
  "etcd",
  "kubelet",
  "machined",
  "syslogd",
  "trustd",
  "udevd",
];

/** Where Talos reads extension service specs, and where their container rootfs must be. */
export const SERVICE_SPEC_DIR = "/usr/local/etc/containers";
export const CONTAINER_ROOT_DIR = "/usr/local/lib/containers";

/** Kernel module files, compressed or not. */
export const KERNEL_MODULE_FILE = /\.ko(\.(xz|zst|gz))?$/;

/** Where kernel modules must live for that Talos release (`quirks.KernelModulesPath`). */
export function kernelModulesRoot(talosVersion: TalosVersionText | TalosVersionInfo): string {
  return atLeast(talosVersion, 1, 10) ? "/usr/lib/modules" : "/lib/modules";
}

/** Valid OCI/runc `rootfsPropagation` values (empty means the runtime default). */
export const ROOTFS_PROPAGATION: readonly string[] = [
  "shared",
  "slave",
  "private",
  "unbindable",
  "rshared",
  "rslave",
  "rprivate",
  "runbindable",
];
