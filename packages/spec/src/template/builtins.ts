/**
 * text/template's predefined functions: and, or, not, len, index, slice, print, printf,
 * println, html, js, urlquery, eq, ne, lt, le, gt, ge, call. Comparison follows Go's
 * basicKind rules (ints of either sign compare by value, mixing kinds is an error, a missing
 * value is only "not equal").
 */
import { sprint, sprintf, sprintln } from "./fmt.ts";
import { FuncError, type FuncMap, fn } from "./funcs.ts";
import { byteLength, isPrint, runes, utf8 } from "./strconv.ts";
import { bool, type GoValue, int, isUnsigned, NIL, str, truth, typeName } from "./values.ts";

type BasicKind = "bool" | "int" | "uint" | "float" | "string" | "invalid";

function basicKind(v: GoValue): { kind: BasicKind; err?: string } {
  switch (v.k) {
    case "bool":
      return { kind: "bool" };
    case "int":
      return { kind: isUnsigned(v.t) ? "uint" : "int" };
    case "float":
      return { kind: "float" };
    case "string":
      return { kind: "string" };
    default:
      return { kind: "invalid", err: "invalid type for comparison" };
  }
}

const BAD_COMPARISON = "incompatible types for comparison";
const isNilish = (v: GoValue) =>
  v.k === "invalid" || v.k === "nil" || ((v.k === "slice" || v.k === "map") && v.isNil === true);
const intOf = (v: GoValue) => (v as { v: bigint }).v;

function eqOne(a: GoValue, b: GoValue): boolean {
  const k1 = basicKind(a).kind;
  const k2 = basicKind(b).kind;
  if (k1 !== k2) {
    if (k1 === "int" && k2 === "uint") return intOf(a) >= 0n && intOf(a) === intOf(b);
    if (k1 === "uint" && k2 === "int") return intOf(b) >= 0n && intOf(a) === intOf(b);
    const valid = (v: GoValue) => v.k !== "invalid" && v.k !== "nil";
    if (valid(a) && valid(b)) throw new FuncError(BAD_COMPARISON);
    return false;
  }
  switch (k1) {
    case "bool":
    case "string":
    case "float":
      return (a as { v: unknown }).v === (b as { v: unknown }).v;
    case "int":
    case "uint":
      return intOf(a) === intOf(b);
    default: {
      if (isNilish(a) || isNilish(b)) return isNilish(a) === isNilish(b);
      if (typeName(a) !== typeName(b)) {
        throw new FuncError(`non-comparable types ${typeName(a)}, ${typeName(b)}`);
      }
      if (a.k === "semver" && b.k === "semver") return a.ver === b.ver;
      throw new FuncError(`non-comparable type ${typeName(b)}`);
    }
  }
}

function lt(a: GoValue, b: GoValue): boolean {
  const ka = basicKind(a);
  if (ka.err) throw new FuncError(ka.err);
  const kb = basicKind(b);
  if (kb.err) throw new FuncError(kb.err);
  if (ka.kind !== kb.kind) {
    if (ka.kind === "int" && kb.kind === "uint") return intOf(a) < 0n || intOf(a) < intOf(b);
    if (ka.kind === "uint" && kb.kind === "int") return intOf(b) >= 0n && intOf(a) < intOf(b);
    throw new FuncError(BAD_COMPARISON);
  }
  switch (ka.kind) {
    case "bool":
      throw new FuncError("invalid type for comparison");
    case "string":
      return Buffer.compare(utf8((a as { v: string }).v), utf8((b as { v: string }).v)) < 0;
    case "float":
      return (a as { v: number }).v < (b as { v: number }).v;
    default:
      return intOf(a) < intOf(b);
  }
}

function eq(args: GoValue[]): boolean {
  const [first, ...rest] = args;
  if (rest.length === 0) throw new FuncError("missing argument for comparison");
  for (const b of rest) if (eqOne(first!, b)) return true;
  return false;
}

function indexArg(index: GoValue, cap: number): number {
  let x: bigint;
  if (index.k === "int") x = index.v;
  else if (index.k === "invalid" || index.k === "nil")
    throw new FuncError("cannot index slice/array with nil");
  else throw new FuncError(`cannot index slice/array with type ${typeName(index)}`);
  if (x < 0n || x > BigInt(cap)) throw new FuncError(`index out of range: ${x}`);
  return Number(x);
}

function index(args: GoValue[]): GoValue {
  let item = args[0]!;
  if (item.k === "invalid" || item.k === "nil") throw new FuncError("index of untyped nil");
  for (const ix of args.slice(1)) {
    if (item.k === "invalid" || item.k === "nil") throw new FuncError("index of nil pointer");
    switch (item.k) {
      case "slice": {
        const x = indexArg(ix, item.items.length);
        if (x === item.items.length) throw new FuncError("reflect: slice index out of range");
        item = item.items[x]!;
        break;
      }
      case "string": {
        const bytes = utf8(item.v);
        const x = indexArg(ix, bytes.length);
        if (x === bytes.length) throw new FuncError("reflect: string index out of range");
        item = int(bytes[x]!, "uint8");
        break;
      }
      case "map": {
        if (ix.k === "invalid" || ix.k === "nil")
          throw new FuncError("value is nil; should be of type string");
        if (ix.k !== "string") throw new FuncError(`value has type ${typeName(ix)}; should be string`);
        const found = item.entries.get(ix.v);
        item = found ?? (item.elem === "string" ? str("") : NIL);
        break;
      }
      default:
        throw new FuncError(`can't index item of type ${typeName(item)}`);
    }
  }
  return item;
}

function slice(args: GoValue[]): GoValue {
  const item = args[0]!;
  const indexes = args.slice(1);
  if (item.k === "invalid" || item.k === "nil") throw new FuncError("slice of untyped nil");
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  let len: number;
  if (item.k === "string") {
    if (indexes.length === 3) throw new FuncError("cannot 3-index slice a string");
    len = byteLength(item.v);
  } else if (item.k === "slice") len = item.items.length;
  else throw new FuncError(`can't slice item of type ${typeName(item)}`);
  const idx = [0, len, len];
  indexes.forEach((ix, i) => {
    idx[i] = indexArg(ix, len);
  });
  if (idx[0]! > idx[1]!) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1]! > idx[2]!)
    throw new FuncError(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  if (item.k === "string") return str(utf8(item.v).subarray(idx[0], idx[1]).toString("utf8"));
  return {
    k: "slice",
    elem: (item as { elem: string }).elem,
    items: (item as { items: GoValue[] }).items.slice(idx[0], idx[1]),
  };
}

function length(v: GoValue): GoValue {
  switch (v.k) {
    case "string":
      return int(byteLength(v.v));
    case "slice":
      return int(v.items.length);
    case "map":
      return int(v.entries.size);
    case "invalid":
    case "nil":
      throw new FuncError("reflect: call of reflect.Value.Type on zero Value");
    default:
      throw new FuncError(`len of type ${typeName(v)}`);
  }
}

/** evalArgs: a lone string as is, anything else through fmt.Sprint (a missing value is "<no value>"). */
function evalArgs(args: GoValue[]): string {
  const only = args[0];
  if (args.length === 1 && only?.k === "string") return only.v;
  return sprint(args.map((a) => (a.k === "nil" || a.k === "invalid" ? str("<no value>") : a)));
}

export function htmlEscape(s: string): string {
  let out = "";
  for (const ch of s) {
    switch (ch) {
      case "\0":
        out += "\uFFFD";
        break;
      case '"':
        out += "&#34;";
        break;
      case "'":
        out += "&#39;";
        break;
      case "&":
        out += "&amp;";
        break;
      case "<":
        out += "&lt;";
        break;
      case ">":
        out += "&gt;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

export function jsEscape(s: string): string {
  let out = "";
  for (const r of runes(s)) {
    switch (r) {
      case 0x5c:
        out += "\\\\";
        continue;
      case 0x27:
        out += "\\'";
        continue;
      case 0x22:
        out += '\\"';
        continue;
      case 0x3c:
        out += "\\u003C";
        continue;
      case 0x3e:
        out += "\\u003E";
        continue;
      case 0x26:
        out += "\\u0026";
        continue;
      case 0x3d:
        out += "\\u003D";
        continue;
    }
    if (r < 0x20) out += `\\u00${r.toString(16).toUpperCase().padStart(2, "0")}`;
    else if (r < 0x80 || isPrint(r)) out += String.fromCodePoint(r);
    else out += `\\u${r.toString(16).toUpperCase().padStart(4, "0")}`;
  }
  return out;
}

/** url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = "";
  for (const b of utf8(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (b === 0x20) out += "+";
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

export const builtins: FuncMap = {
  and: { params: ["value"], variadic: "value", special: "and", fn: (a) => a[a.length - 1]! },
  or: { params: ["value"], variadic: "value", special: "or", fn: (a) => a[a.length - 1]! },
  not: fn(["value"], ([v]) => bool(!truth(v!))),
  len: fn(["value"], ([v]) => length(v!)),
  index: fn(["value"], index, "value"),
  slice: fn(["value"], slice, "value"),
  print: fn([], (a) => str(sprint(a)), "any"),
  printf: fn(["string"], ([f, ...a]) => str(sprintf((f as { v: string }).v, a)), "any"),
  println: fn([], (a) => str(sprintln(a)), "any"),
  html: fn([], (a) => str(htmlEscape(evalArgs(a))), "any"),
  js: fn([], (a) => str(jsEscape(evalArgs(a))), "any"),
  urlquery: fn([], (a) => str(queryEscape(evalArgs(a))), "any"),
  eq: fn(["value"], (a) => bool(eq(a)), "value"),
  ne: fn(["value", "value"], (a) => bool(!eq(a))),
  lt: fn(["value", "value"], ([a, b]) => bool(lt(a!, b!))),
  le: fn(["value", "value"], ([a, b]) => bool(lt(a!, b!) || eqOne(a!, b!))),
  gt: fn(["value", "value"], ([a, b]) => bool(!(lt(a!, b!) || eqOne(a!, b!)))),
  ge: fn(["value", "value"], ([a, b]) => bool(!lt(a!, b!))),
  call: fn(
    ["value"],
    ([f]) => {
      if (f!.k === "invalid" || f!.k === "nil") throw new FuncError("call of nil");
      throw new FuncError(`non-function of type ${typeName(f!)}`);
    },
    "value",
  ),
};
