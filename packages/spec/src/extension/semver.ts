/**
 * Semantic versions parsed and compared the way `blang/semver/v4` does (the library Talos uses
 * for extension compatibility), including its exact error texts, which Talos passes through.
 */
import { TalosExtError } from "../errors.ts";
import { goQuote } from "../go-quote.ts";

export interface PreRelease {
  num?: bigint;
  str?: string;
}

export interface SemVer {
  major: bigint;
  minor: bigint;
  patch: bigint;
  pre: PreRelease[];
  build: string[];
}

const UINT64_MAX = (1n << 64n) - 1n;
const ALPHANUM = /^[0-9A-Za-z-]*$/;
const DIGITS = /^[0-9]*$/;

export { goQuote };

function parseUint(s: string): bigint {
  // strconv.ParseUint(s, 10, 64)
  if (s === "" || !DIGITS.test(s))
    throw new Error(`strconv.ParseUint: parsing ${goQuote(s)}: invalid syntax`);
  const v = BigInt(s);
  if (v > UINT64_MAX) throw new Error(`strconv.ParseUint: parsing ${goQuote(s)}: value out of range`);
  return v;
}

const leadingZero = (s: string) => s.length > 1 && s[0] === "0";

/** `semver.Parse`: strict `X.Y.Z[-pre][+build]`. Throws `Error` with blang's message. */
export function parseSemver(s: string): SemVer {
  if (s.length === 0) throw new Error("Version string empty");
  const first = s.indexOf(".");
  const second = first === -1 ? -1 : s.indexOf(".", first + 1);
  if (second === -1) throw new Error("No Major.Minor.Patch elements found");
  const majorText = s.slice(0, first);
  const minorText = s.slice(first + 1, second);
  let patchText = s.slice(second + 1);

  if (!DIGITS.test(majorText))
    throw new Error(`Invalid character(s) found in major number ${goQuote(majorText)}`);
  if (leadingZero(majorText))
    throw new Error(`Major number must not contain leading zeroes ${goQuote(majorText)}`);
  const major = parseUint(majorText);
  if (!DIGITS.test(minorText))
    throw new Error(`Invalid character(s) found in minor number ${goQuote(minorText)}`);
  if (leadingZero(minorText))
    throw new Error(`Minor number must not contain leading zeroes ${goQuote(minorText)}`);
  const minor = parseUint(minorText);

  let build: string[] = [];
  let prerelease: string[] = [];
  const plus = patchText.indexOf("+");
  if (plus !== -1) {
    build = patchText.slice(plus + 1).split(".");
    patchText = patchText.slice(0, plus);
  }
  const dash = patchText.indexOf("-");
  if (dash !== -1) {
    prerelease = patchText.slice(dash + 1).split(".");
    patchText = patchText.slice(0, dash);
  }
  if (!DIGITS.test(patchText))
    throw new Error(`Invalid character(s) found in patch number ${goQuote(patchText)}`);
  if (leadingZero(patchText))
    throw new Error(`Patch number must not contain leading zeroes ${goQuote(patchText)}`);
  const patch = parseUint(patchText);

  const pre: PreRelease[] = [];
  for (const p of prerelease) {
    if (p.length === 0) throw new Error("Prerelease is empty");
    if (DIGITS.test(p)) {
      if (leadingZero(p))
        throw new Error(`Numeric PreRelease version must not contain leading zeroes ${goQuote(p)}`);
      pre.push({ num: parseUint(p) });
    } else if (ALPHANUM.test(p)) pre.push({ str: p });
    else throw new Error(`Invalid character(s) found in prerelease ${goQuote(p)}`);
  }
  for (const b of build) {
    if (b.length === 0) throw new Error("Build meta data is empty");
    if (!ALPHANUM.test(b)) throw new Error(`Invalid character(s) found in build meta data ${goQuote(b)}`);
  }
  return { major, minor, patch, pre, build };
}

const cmp = <T extends bigint | string>(a: T, b: T) => (a === b ? 0 : a > b ? 1 : -1);

function comparePre(a: PreRelease, b: PreRelease): number {
  if (a.num !== undefined && b.num === undefined) return -1;
  if (a.num === undefined && b.num !== undefined) return 1;
  if (a.num !== undefined && b.num !== undefined) return cmp(a.num, b.num);
  // Go compares strings bytewise; for the ASCII alphabet allowed here that is code-unit order.
  return cmp(a.str!, b.str!);
}

/** `Version.Compare`: -1, 0 or 1; build metadata is ignored. */
export function compareSemver(a: SemVer, b: SemVer): number {
  const core = cmp(a.major, b.major) || cmp(a.minor, b.minor) || cmp(a.patch, b.patch);
  if (core !== 0) return core;
  if (a.pre.length === 0 && b.pre.length === 0) return 0;
  if (a.pre.length === 0) return 1;
  if (b.pre.length === 0) return -1;
  for (let i = 0; i < a.pre.length && i < b.pre.length; i++) {
    const c = comparePre(a.pre[i]!, b.pre[i]!);
    if (c !== 0) return c;
  }
  return cmp(BigInt(a.pre.length), BigInt(b.pre.length));
}

export function formatSemver(v: SemVer): string {
  let s = `${v.major}.${v.minor}.${v.patch}`;
  if (v.pre.length > 0)
    s += `-${v.pre.map((p) => (p.num !== undefined ? p.num.toString() : p.str)).join(".")}`;
  if (v.build.length > 0) s += `+${v.build.join(".")}`;
  return s;
}

/** A Talos version as given on the command line: `v1.14.0`, `1.13.2`, `v1.14.0-beta.1`, `v1.14`. */
export interface TalosVersionInfo {
  /** The full version without the leading `v` (what Talos prints). */
  full: string;
  version: SemVer;
  /** major.minor.patch only: what constraints are evaluated against. */
  core: SemVer;
}

export function parseTalosVersion(input: string): TalosVersionInfo {
  let text = input.trim();
  if (text.startsWith("v")) text = text.slice(1);
  // Like ParseTolerant: `1.14` means `1.14.0`.
  if (/^[0-9]+\.[0-9]+$/.test(text)) text += ".0";
  let version: SemVer;
  try {
    version = parseSemver(text);
  } catch (e) {
    throw new TalosExtError({
      code: "EXT_TALOS_VERSION_INVALID",
      message: `invalid Talos version ${goQuote(input)}: ${(e as Error).message}`,
      hint: 'give a Talos release such as "v1.14.0" or "v1.14.0-beta.1"',
    });
  }
  return {
    full: formatSemver(version),
    version,
    core: { major: version.major, minor: version.minor, patch: version.patch, pre: [], build: [] },
  };
}

/** `major.minor` as a comparable number pair. */
export function minorOf(v: TalosVersionInfo): [number, number] {
  return [Number(v.version.major), Number(v.version.minor)];
}
