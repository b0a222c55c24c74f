/**
 * Talos versions and what each talosctl client accepts. Flags change between releases (the
 * Lifecycle upgrade path from 1.13, `--no-reboot` from 1.14, `--insecure` gone from `upgrade` in
 * 1.14), so every flag we pass is chosen from the client's version, never guessed.
 */

/** A parsed `vMAJOR.MINOR.PATCH[-PRERELEASE]`. */
export interface TalosVersion {
  /** Major version (1 for every Talos so far). */
  major: number;
  /** Minor version: flags and upgrade paths change between minors. */
  minor: number;
  /** Patch version. */
  patch: number;
  /** e.g. `beta.1`; empty for a release. */
  prerelease: string;
  /** The tag as printed, e.g. `v1.14.0`. */
  tag: string;
}

/** Client minors this package knows the flags of. Newer ones are refused: their flags are unknown. */
export const SUPPORTED_CLIENT_VERSIONS = { min: "1.12.0", maxExclusive: "1.15.0" } as const;

const VERSION_RE = /^v?(\d{1,4})\.(\d{1,4})\.(\d{1,6})(?:-([0-9A-Za-z.-]{1,64}))?(?:\+[0-9A-Za-z.-]{1,64})?$/;

/** Parses a Talos version tag; undefined when it is not one. */
export function parseTalosVersion(text: string): TalosVersion | undefined {
  const m = VERSION_RE.exec(text.trim());
  if (!m) return undefined;
  return {
    major: Number(m[1]),
    minor: Number(m[2]),
    patch: Number(m[3]),
    prerelease: m[4] ?? "",
    tag: text.trim().startsWith("v") ? text.trim() : `v${text.trim()}`,
  };
}

/** Semver-style comparison (a prerelease sorts before its release). */
export function compareVersions(a: TalosVersion, b: TalosVersion): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.patch !== b.patch) return a.patch - b.patch;
  if (a.prerelease === b.prerelease) return 0;
  if (a.prerelease === "") return 1;
  if (b.prerelease === "") return -1;
  const pa = a.prerelease.split(".");
  const pb = b.prerelease.split(".");
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const nx = /^\d+$/.test(x) ? Number(x) : Number.NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : Number.NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny)) {
      if (nx !== ny) return nx - ny;
    } else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Whether this package drives a talosctl client of this version. */
export function isSupportedClient(v: TalosVersion): boolean {
  // Compare on major.minor.patch only: a 1.15 prerelease is as unknown as 1.15.0, a 1.12 rc is fine.
  const core = { ...v, prerelease: "" };
  return (
    compareVersions(core, parseTalosVersion(SUPPORTED_CLIENT_VERSIONS.min)!) >= 0 &&
    compareVersions(core, parseTalosVersion(SUPPORTED_CLIENT_VERSIONS.maxExclusive)!) < 0
  );
}

/** What a talosctl client of a given version can do, as this package uses it. */
export interface ClientFeatures {
  /** `upgrade` goes through the LifecycleService by default (talosctl >= 1.13), with drain flags. */
  lifecycleUpgrade: boolean;
  /** `upgrade --legacy` exists (>= 1.13). */
  legacyFlag: boolean;
  /** `upgrade --drain` / `--drain-timeout` exist (>= 1.13). */
  drainFlags: boolean;
  /** `upgrade --no-reboot` exists (>= 1.14). */
  noReboot: boolean;
  /** `upgrade --insecure` exists (<= 1.13; removed in 1.14). This package never passes it. */
  upgradeInsecure: boolean;
  /** `upgrade --reboot-mode force` exists on the Lifecycle path (>= 1.13). */
  rebootModeForce: boolean;
  /** One unreachable node aborts `get` before any output (>= 1.14). */
  versionCheckAborts: boolean;
}

/** The features of a client version. */
export function clientFeatures(v: TalosVersion): ClientFeatures {
  const atLeast = (minor: number) => v.major > 1 || (v.major === 1 && v.minor >= minor);
  return {
    lifecycleUpgrade: atLeast(13),
    legacyFlag: atLeast(13),
    drainFlags: atLeast(13),
    noReboot: atLeast(14),
    upgradeInsecure: !atLeast(14),
    rebootModeForce: atLeast(13),
    versionCheckAborts: atLeast(14),
  };
}

const LIFECYCLE_SERVER_MIN = parseTalosVersion("v1.13.0-alpha.2")!;

/** Whether a node of this version serves the LifecycleService upgrade (talosctl's own test: > 1.13.0-alpha.2). */
export function serverHasLifecycle(server: TalosVersion): boolean {
  return compareVersions(server, LIFECYCLE_SERVER_MIN) > 0 && server.major < 2;
}

/**
 * Reads the client tag out of `talosctl version --client` (or `--short`) output. The text block
 * has a `Tag:` line; the short form is `Talos vX.Y.Z`.
 */
export function parseClientVersionOutput(stdout: string): TalosVersion | undefined {
  const client = stdout.split(/^Server:/m)[0] ?? "";
  const m = /^\s*Tag:\s*(\S+)\s*$/m.exec(client) ?? /^\s*Talos\s+(v\S+)\s*$/m.exec(client);
  return m ? parseTalosVersion(m[1]!) : undefined;
}

/** Milliseconds as a Go duration (`90s`, `1500ms`), the form talosctl's duration flags parse. */
export function goDuration(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  if (whole % 1000 === 0) return `${whole / 1000}s`;
  return `${whole}ms`;
}
