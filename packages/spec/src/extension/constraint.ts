/**
 * `metadata.compatibility.talos.version` evaluated exactly as Talos does: strip `v` before digits,
 * parse with blang/semver v4's range grammar (quirks included: its tokenizer drops one-character
 * words, `x` anywhere triggers wildcard expansion, unknown operators on wildcards become `=`),
 * and compare against the Talos core version (prerelease dropped).
 */
import { compareSemver, goQuote, parseSemver, parseTalosVersion, type SemVer } from "./semver.ts";

type Comparator = (v: SemVer, bound: SemVer) => boolean;

const COMPARATORS = new Map<string, Comparator>([
  ["", (v, b) => compareSemver(v, b) === 0],
  ["=", (v, b) => compareSemver(v, b) === 0],
  ["==", (v, b) => compareSemver(v, b) === 0],
  [">", (v, b) => compareSemver(v, b) === 1],
  [">=", (v, b) => compareSemver(v, b) >= 0],
  ["<", (v, b) => compareSemver(v, b) === -1],
  ["<=", (v, b) => compareSemver(v, b) <= 0],
  ["!", (v, b) => compareSemver(v, b) !== 0],
  ["!=", (v, b) => compareSemver(v, b) !== 0],
]);

/** Talos's `trim`: every `v` directly followed by a digit is removed. */
export function stripVersionPrefixes(constraint: string): string {
  return constraint.replace(/v(?=[0-9])/g, "");
}

/** blang's splitAndTrim: split on spaces unless the last non-space char was `>`, `<` or `=`. */
function splitAndTrim(s: string): string[] {
  const result: string[] = [];
  let last = 0;
  let lastChar = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] === " " && lastChar !== ">" && lastChar !== "<" && lastChar !== "=") {
      // (sic) `last < i-1`: a one-character word is silently dropped.
      if (last < i - 1) result.push(s.slice(last, i));
      last = i + 1;
    } else if (s[i] !== " ") lastChar = s[i]!;
  }
  if (last < s.length - 1) result.push(s.slice(last));
  return result.map((p) => p.replaceAll(" ", ""));
}

function splitOrParts(parts: string[]): string[][] {
  const groups: string[][] = [];
  let last = 0;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === "||") {
      if (i === 0) throw new Error("First element in range is '||'");
      groups.push(parts.slice(last, i));
      last = i + 1;
    }
  }
  if (last === parts.length) throw new Error("Last element in range is '||'");
  groups.push(parts.slice(last));
  return groups;
}

function splitComparatorVersion(s: string): [string, string] {
  const i = s.search(/\p{Nd}/u);
  if (i === -1) throw new Error(`Could not get version from string: ${goQuote(s)}`);
  return [s.slice(0, i).trim(), s.slice(i)];
}

/** Go's strconv.Atoi + Itoa(i+1) on one dot-separated part; "" when Atoi fails (blang ignores the error). */
function incrementPart(v: string, index: number): string {
  const parts = v.split(".");
  const text = parts[index];
  if (text === undefined || !/^[+-]?[0-9]+$/.test(text)) return "";
  const n = BigInt(text);
  if (n > (1n << 63n) - 1n || n < -(1n << 63n)) return "";
  parts[index] = (n + 1n).toString();
  return parts.join(".");
}

function expandWildcards(groups: string[][]): string[][] {
  return groups.map((group) => {
    const out: string[] = [];
    for (let part of group) {
      if (part.includes("x")) {
        const [op, v] = splitComparatorVersion(part);
        const pieces = v.split(".");
        const wildcard = pieces[pieces.length - 1] === "x" ? pieces.length : 0;
        let flat = v.replace(".x.x", ".x").replace(".x", ".0");
        if (flat.split(".").length === 2) flat += ".0";
        let resultOp = "";
        let increment = false;
        switch (op) {
          case ">":
            resultOp = ">=";
            increment = true;
            break;
          case ">=":
            resultOp = ">=";
            break;
          case "<":
            resultOp = "<";
            break;
          case "<=":
            resultOp = "<";
            increment = true;
            break;
          case "":
          case "=":
          case "==":
            out.push(`>=${flat}`);
            resultOp = "<";
            increment = true;
            break;
          case "!=":
          case "!":
            out.push(`<${flat}`);
            resultOp = ">=";
            increment = true;
            break;
        }
        let result = "";
        if (increment) {
          if (wildcard === 3) result = incrementPart(flat, 1);
          else if (wildcard === 2) result = incrementPart(flat, 0);
        } else result = flat;
        part = resultOp + result;
      }
      out.push(part);
    }
    return out;
  });
}

type Range = (v: SemVer) => boolean;

/** `semver.ParseRange` from blang/semver v4.0.0. Throws `Error` with blang's message. */
export function parseRange(s: string): Range {
  const groups = expandWildcards(splitOrParts(splitAndTrim(s)));
  const ors: Range[] = [];
  for (const group of groups) {
    const ands: Range[] = [];
    for (const part of group) {
      const [op, v] = splitComparatorVersion(part);
      const comparator = COMPARATORS.get(op);
      if (!comparator) {
        throw new Error(
          `Could not parse Range ${goQuote(part)}: Could not parse comparator ${goQuote(op)} in ${goQuote(op + v)}`,
        );
      }
      let bound: SemVer;
      try {
        bound = parseSemver(v);
      } catch (e) {
        throw new Error(
          `Could not parse Range ${goQuote(part)}: Could not parse version ${goQuote(v)} in ${goQuote(op + v)}: ${(e as Error).message}`,
        );
      }
      ands.push((x) => comparator(x, bound));
    }
    // blang builds a nil function for an empty group (`a || || b`); Talos would crash calling it.
    if (ands.length === 0) throw new Error("empty range between '||' operators");
    ors.push((x) => ands.every((f) => f(x)));
  }
  return (x) => ors.some((f) => f(x));
}

/**
 * Whether a Talos version satisfies an extension's compatibility constraint, with Talos's reason when not.
 */
export interface ConstraintResult {
  /** True when the extension may be installed on the version. */
  ok: boolean;
  /** Talos's error text when `ok` is false. */
  error?: string;
  /** Why it failed: the constraint does not parse, or the version is outside it. */
  reason?: "invalid" | "unsatisfied";
}

/**
 * Whether an extension with `constraint` may be installed on `talosVersion`, with Talos's error
 * texts. Throws `EXT_TALOS_VERSION_INVALID` when `talosVersion` itself is not a version.
 */
export function satisfiesConstraint(constraint: string, talosVersion: string): ConstraintResult {
  const talos = parseTalosVersion(talosVersion);
  if (constraint === "") return { ok: true };
  let range: Range;
  try {
    range = parseRange(stripVersionPrefixes(constraint));
  } catch (e) {
    return {
      ok: false,
      reason: "invalid",
      error: `error parsing Talos version constraint: ${(e as Error).message}`,
    };
  }
  if (range(talos.core)) return { ok: true };
  return {
    ok: false,
    reason: "unsatisfied",
    error: `version constraint ${constraint} can't be satisfied with Talos version ${talos.full}`,
  };
}
