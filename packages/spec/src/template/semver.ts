/**
 * Masterminds/semver v3 as sprig's `semver` and `semverCompare` use it: loose version parsing
 * (optional `v`, missing minor/patch), prerelease-aware ordering, and constraint strings with
 * `=`, `!=`, `>`, `<`, `>=`, `<=`, `~`, `^`, wildcards, hyphen ranges, `,`/space (and) and `||` (or).
 * Prereleases only satisfy a constraint that itself names a prerelease, as in the library.
 */

export class SemverError extends Error {}

const SEMVER =
  /^v?(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*))?(?:\.(0|[1-9][0-9]*))?(?:-((?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

const UINT64_MAX = (1n << 64n) - 1n;

export class SemverVersion {
  readonly major: bigint;
  readonly minor: bigint;
  readonly patch: bigint;
  readonly pre: string;
  readonly metadata: string;
  readonly original: string;

  constructor(major: bigint, minor: bigint, patch: bigint, pre: string, metadata: string, original: string) {
    this.major = major;
    this.minor = minor;
    this.patch = patch;
    this.pre = pre;
    this.metadata = metadata;
    this.original = original;
  }

  static parse(v: string): SemverVersion {
    const m = SEMVER.exec(v);
    if (!m) throw new SemverError("Invalid Semantic Version");
    const seg = (s: string | undefined) => {
      const n = s === undefined ? 0n : BigInt(s);
      if (n > UINT64_MAX)
        throw new SemverError(
          `Error parsing version segment: strconv.ParseUint: parsing "${s}": value out of range`,
        );
      return n;
    };
    return new SemverVersion(seg(m[1]), seg(m[2]), seg(m[3]), m[4] ?? "", m[5] ?? "", v);
  }

  toString(): string {
    let s = `${this.major}.${this.minor}.${this.patch}`;
    if (this.pre) s += `-${this.pre}`;
    if (this.metadata) s += `+${this.metadata}`;
    return s;
  }

  compare(o: SemverVersion): number {
    for (const [a, b] of [
      [this.major, o.major],
      [this.minor, o.minor],
      [this.patch, o.patch],
    ] as const) {
      if (a !== b) return a < b ? -1 : 1;
    }
    if (this.pre === "" && o.pre === "") return 0;
    if (this.pre === "") return 1;
    if (o.pre === "") return -1;
    return comparePrerelease(this.pre, o.pre);
  }

  equalFields(o: SemverVersion): boolean {
    return this.toString() === o.toString() && this.original === o.original;
  }

  incMajor(): SemverVersion {
    return this.next(this.major + 1n, 0n, 0n);
  }
  incMinor(): SemverVersion {
    return this.next(this.major, this.minor + 1n, 0n);
  }
  incPatch(): SemverVersion {
    // A prerelease "increments" to its release.
    return this.next(this.major, this.minor, this.pre !== "" ? this.patch : this.patch + 1n);
  }

  private next(major: bigint, minor: bigint, patch: bigint): SemverVersion {
    const v = new SemverVersion(major, minor, patch, "", "", "");
    const prefix = this.original.startsWith("v") ? "v" : "";
    return new SemverVersion(major, minor, patch, "", "", prefix + v.toString());
  }
}

const isNumeric = (s: string) => /^[0-9]+$/.test(s);

function comparePrePart(s: string, o: string): number {
  if (s === o) return 0;
  if (s === "") return o !== "" ? -1 : 1;
  if (o === "") return s !== "" ? 1 : -1;
  const sn = isNumeric(s) && BigInt(s) <= UINT64_MAX;
  const on = isNumeric(o) && BigInt(o) <= UINT64_MAX;
  if (!sn && !on) return s > o ? 1 : -1;
  if (!on) return -1;
  if (!sn) return 1;
  return BigInt(s) > BigInt(o) ? 1 : -1;
}

function comparePrerelease(v: string, o: string): number {
  const sp = v.split(".");
  const op = o.split(".");
  const n = Math.max(sp.length, op.length);
  for (let i = 0; i < n; i++) {
    const d = comparePrePart(sp[i] ?? "", op[i] ?? "");
    if (d !== 0) return d;
  }
  return 0;
}

// ---------------------------------------------------------------- constraints

const WS = "[\\t\\n\\f\\r ]";
const CV =
  "v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?";
const OPS = "=||!=|>|<|>=|=>|<=|=<|~|~>|\\^";
const CONSTRAINT = new RegExp(`^${WS}*(${OPS})${WS}*(${CV})${WS}*$`);
const RANGE = new RegExp(`${WS}*(${CV})${WS}+-${WS}+(${CV})${WS}*`, "g");
const FIND = new RegExp(`(${OPS})${WS}*(${CV})`, "g");
const VALID = new RegExp(
  `^(${WS}*(${OPS})${WS}*(${CV})${WS}*)((?:${WS}+|,${WS}*)(${OPS})${WS}*(${CV})${WS}*)*$`,
);

type Op = "" | "=" | "!=" | ">" | "<" | ">=" | "=>" | "<=" | "=<" | "~" | "~>" | "^";

interface Constraint {
  op: Op;
  con: SemverVersion;
  minorDirty: boolean;
  patchDirty: boolean;
  dirty: boolean;
}

const isX = (s: string) => s === "x" || s === "X" || s === "*";

function parseConstraint(c: string): Constraint {
  const m = CONSTRAINT.exec(c);
  if (!m) throw new SemverError(`improper constraint: ${c}`);
  let ver = m[2]!;
  let minorDirty = false;
  let patchDirty = false;
  let dirty = false;
  const major = m[3] ?? "";
  const minor = m[4] ?? "";
  const patch = m[5] ?? "";
  const pre = m[6] ?? "";
  if (isX(major) || major === "") {
    ver = `0.0.0${pre}`;
    dirty = true;
  } else if (isX(minor.replace(/^\./, "")) || minor === "") {
    minorDirty = true;
    dirty = true;
    ver = `${major}.0.0${pre}`;
  } else if (isX(patch.replace(/^\./, "")) || patch === "") {
    dirty = true;
    patchDirty = true;
    ver = `${major}${minor}.0${pre}`;
  }
  let con: SemverVersion;
  try {
    con = SemverVersion.parse(ver);
  } catch {
    throw new SemverError("constraint Parser Error");
  }
  return { op: m[1] as Op, con, minorDirty, patchDirty, dirty };
}

function rewriteRange(i: string): string {
  let o = i;
  for (const m of i.matchAll(RANGE)) o = o.replace(m[0], `>= ${m[1]}, <= ${m[11]}`);
  return o;
}

export class SemverConstraints {
  private readonly groups: Constraint[][];

  private constructor(groups: Constraint[][]) {
    this.groups = groups;
  }

  static parse(text: string): SemverConstraints {
    const c = rewriteRange(text);
    const groups: Constraint[][] = [];
    for (const v of c.split("||")) {
      if (!VALID.test(v)) throw new SemverError(`improper constraint: ${v}`);
      const found = [...v.matchAll(FIND)].map((m) => m[0]);
      groups.push((found.length > 0 ? found : [v]).map(parseConstraint));
    }
    return new SemverConstraints(groups);
  }

  check(v: SemverVersion): boolean {
    return this.groups.some((group) => group.every((c) => checkOne(v, c)));
  }
}

function checkOne(v: SemverVersion, c: Constraint): boolean {
  // Prereleases only match constraints that name a prerelease themselves.
  if (c.op !== "!=" && v.pre !== "" && c.con.pre === "") return false;
  switch (c.op) {
    case "":
    case "=":
      return c.dirty ? tilde(v, c) : v.compare(c.con) === 0;
    case "!=":
      return notEqual(v, c);
    case ">":
      return greaterThan(v, c);
    case "<":
      return v.compare(c.con) < 0;
    case ">=":
    case "=>":
      return v.compare(c.con) >= 0;
    case "<=":
    case "=<":
      return lessThanEqual(v, c);
    case "~":
    case "~>":
      return tilde(v, c);
    case "^":
      return caret(v, c);
  }
}

function notEqual(v: SemverVersion, c: Constraint): boolean {
  if (c.dirty) {
    if (v.pre !== "" && c.con.pre === "") return false;
    if (c.con.major !== v.major) return true;
    if (c.con.minor !== v.minor && !c.minorDirty) return true;
    if (c.minorDirty) return false;
    if (c.con.patch !== v.patch && !c.patchDirty) return true;
    if (c.patchDirty) {
      if (v.pre !== "" || c.con.pre !== "") return comparePrerelease(v.pre, c.con.pre) !== 0;
      return false;
    }
  }
  return v.compare(c.con) !== 0;
}

function greaterThan(v: SemverVersion, c: Constraint): boolean {
  if (!c.dirty) return v.compare(c.con) === 1;
  if (v.major > c.con.major) return true;
  if (v.major < c.con.major) return false;
  if (c.minorDirty) return false;
  if (c.patchDirty) return v.minor > c.con.minor;
  return v.compare(c.con) === 1;
}

function lessThanEqual(v: SemverVersion, c: Constraint): boolean {
  if (!c.dirty) return v.compare(c.con) <= 0;
  if (v.major > c.con.major) return false;
  if (v.major === c.con.major && v.minor > c.con.minor && !c.minorDirty) return false;
  return true;
}

function tilde(v: SemverVersion, c: Constraint): boolean {
  if (v.compare(c.con) < 0) return false;
  if (c.con.major === 0n && c.con.minor === 0n && c.con.patch === 0n && !c.minorDirty && !c.patchDirty)
    return true;
  if (v.major !== c.con.major) return false;
  if (v.minor !== c.con.minor && !c.minorDirty) return false;
  return true;
}

function caret(v: SemverVersion, c: Constraint): boolean {
  if (v.compare(c.con) < 0) return false;
  if (c.con.major > 0n || c.minorDirty) return v.major === c.con.major;
  if (c.con.major === 0n && v.major > 0n) return false;
  if (c.con.minor > 0n || c.patchDirty) return v.minor === c.con.minor;
  if (c.con.minor === 0n && v.minor > 0n) return false;
  return c.con.patch === v.patch;
}

/** sprig's semverCompare: does `version` satisfy `constraint`? */
export function semverCompare(constraint: string, version: string): boolean {
  const c = SemverConstraints.parse(constraint);
  const v = SemverVersion.parse(version);
  return c.check(v);
}
