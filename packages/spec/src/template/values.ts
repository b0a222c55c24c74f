/**
 * The Go value model the engine works on. Templates see `reflect.Value`s; these are their
 * JS stand-ins with exactly the distinctions Go makes visible: an *invalid* value (the result of
 * a missing map key), a nil interface, typed integers (int vs int64 vs uint8), float64,
 * strings, slices and maps with their element type, and *semver.Version pointers.
 */
import type { SemverVersion } from "./semver.ts";
import { compareStrings } from "./strconv.ts";

export type IntType =
  | "int"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint"
  | "uint64"
  | "uint32"
  | "uint16"
  | "uint8";

export type GoValue =
  | { readonly k: "invalid" }
  | { readonly k: "nil" }
  | { readonly k: "bool"; readonly v: boolean }
  | { readonly k: "int"; readonly t: IntType; readonly v: bigint }
  | { readonly k: "float"; readonly v: number }
  | { readonly k: "string"; readonly v: string }
  | { readonly k: "slice"; readonly elem: string; readonly items: GoValue[]; readonly isNil?: boolean }
  | {
      readonly k: "map";
      readonly elem: string;
      readonly entries: Map<string, GoValue>;
      readonly isNil?: boolean;
    }
  | { readonly k: "semver"; readonly ver: SemverVersion };

export type GoSlice = Extract<GoValue, { k: "slice" }>;
export type GoMap = Extract<GoValue, { k: "map" }>;

export const ANY = "interface {}";

export const INVALID: GoValue = Object.freeze({ k: "invalid" });
export const NIL: GoValue = Object.freeze({ k: "nil" });
export const TRUE: GoValue = Object.freeze({ k: "bool", v: true });
export const FALSE: GoValue = Object.freeze({ k: "bool", v: false });

export const str = (v: string): GoValue => ({ k: "string", v });
export const bool = (v: boolean): GoValue => (v ? TRUE : FALSE);
export const float = (v: number): GoValue => ({ k: "float", v });
export const int = (v: bigint | number, t: IntType = "int"): GoValue => ({
  k: "int",
  t,
  v: wrap(typeof v === "bigint" ? v : BigInt(Math.trunc(v)), t),
});
export const int64 = (v: bigint | number): GoValue => int(v, "int64");
export const list = (items: GoValue[], elem = ANY): GoValue => ({ k: "slice", elem, items });
export const nilSlice = (elem = ANY): GoValue => ({ k: "slice", elem, items: [], isNil: true });
export const strList = (items: readonly string[]): GoValue => ({
  k: "slice",
  elem: "string",
  items: items.map(str),
});
export const dict = (entries: Map<string, GoValue> = new Map(), elem = ANY): GoValue => ({
  k: "map",
  elem,
  entries,
});
export const nilMap = (elem = ANY): GoValue => ({ k: "map", elem, entries: new Map(), isNil: true });

/** Wraps an integer to the width of its Go type. */
export function wrap(v: bigint, t: IntType): bigint {
  switch (t) {
    case "int":
    case "int64":
      return BigInt.asIntN(64, v);
    case "int32":
      return BigInt.asIntN(32, v);
    case "int16":
      return BigInt.asIntN(16, v);
    case "int8":
      return BigInt.asIntN(8, v);
    case "uint":
    case "uint64":
      return BigInt.asUintN(64, v);
    case "uint32":
      return BigInt.asUintN(32, v);
    case "uint16":
      return BigInt.asUintN(16, v);
    case "uint8":
      return BigInt.asUintN(8, v);
  }
}

export const isUnsigned = (t: IntType): boolean => t.startsWith("u");

/** reflect.Type.String() of the value's dynamic type. */
export function typeName(v: GoValue): string {
  switch (v.k) {
    case "invalid":
      return "<invalid reflect.Value>";
    case "nil":
      return "<nil>";
    case "bool":
      return "bool";
    case "int":
      return v.t;
    case "float":
      return "float64";
    case "string":
      return "string";
    case "slice":
      return `[]${v.elem}`;
    case "map":
      return `map[string]${v.elem}`;
    case "semver":
      return "*semver.Version";
  }
}

/** reflect.Kind.String() of the value. */
export function kindName(v: GoValue): string {
  switch (v.k) {
    case "invalid":
    case "nil":
      return "invalid";
    case "int":
      return v.t;
    case "float":
      return "float64";
    case "semver":
      return "ptr";
    default:
      return v.k;
  }
}

/** text/template's isTrue. */
export function truth(v: GoValue): boolean {
  switch (v.k) {
    case "invalid":
    case "nil":
      return false;
    case "bool":
      return v.v;
    case "int":
      return v.v !== 0n;
    case "float":
      return v.v !== 0;
    case "string":
      return v.v.length > 0;
    case "slice":
      return v.items.length > 0;
    case "map":
      return v.entries.size > 0;
    case "semver":
      return true;
  }
}

/** sprig's `empty`. */
export const isEmpty = (v: GoValue): boolean => !truth(v);

/** Turns the nil interface into the invalid value, as text/template does after each command. */
export const unwrapNil = (v: GoValue): GoValue => (v.k === "nil" ? INVALID : v);

/** Map keys in Go's fmtsort/byte order. */
export function sortedKeys(m: ReadonlyMap<string, unknown>): string[] {
  return [...m.keys()].sort(compareStrings);
}

/** reflect.DeepEqual. */
export function deepEqual(a: GoValue, b: GoValue): boolean {
  if (a === b) return true;
  if (a.k === "invalid" || a.k === "nil" || b.k === "invalid" || b.k === "nil") {
    return (a.k === "invalid" || a.k === "nil") && (b.k === "invalid" || b.k === "nil");
  }
  if (typeName(a) !== typeName(b)) return false;
  switch (a.k) {
    case "bool":
    case "string":
    case "float":
      return a.v === (b as typeof a).v;
    case "int":
      return a.v === (b as typeof a).v;
    case "semver":
      return a.ver === (b as typeof a).ver || a.ver.equalFields((b as typeof a).ver);
    case "slice": {
      const bb = b as typeof a;
      if (Boolean(a.isNil) !== Boolean(bb.isNil) || a.items.length !== bb.items.length) return false;
      return a.items.every((x, i) => deepEqual(x, bb.items[i]!));
    }
    case "map": {
      const bb = b as typeof a;
      if (Boolean(a.isNil) !== Boolean(bb.isNil) || a.entries.size !== bb.entries.size) return false;
      for (const [key, x] of a.entries) {
        const y = bb.entries.get(key);
        if (y === undefined || !deepEqual(x, y)) return false;
      }
      return true;
    }
  }
}

/** Converts a JS value decoded from JSON (or similar) into Go's encoding/json interface{} shapes. */
export function fromPlain(x: unknown): GoValue {
  if (x === null || x === undefined) return NIL;
  if (typeof x === "string") return str(x);
  if (typeof x === "boolean") return bool(x);
  if (typeof x === "number") return float(x);
  if (Array.isArray(x)) return list(x.map(fromPlain));
  if (typeof x === "object") {
    const m = new Map<string, GoValue>();
    for (const [key, value] of Object.entries(x as Record<string, unknown>)) m.set(key, fromPlain(value));
    return dict(m);
  }
  return NIL;
}
