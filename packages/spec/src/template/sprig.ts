/**
 * sprig v3.3.0's `HermeticTxtFuncMap()`, with each function's Go signature (which decides
 * argument checking) and behaviour, including its quirks: argument orders made for pipelines
 * (`replace OLD NEW S`, `substr START END S`, `regexReplaceAll RE S REPL`), spf13/cast
 * conversions for the numeric helpers, panics that become "error calling …" errors, and the
 * non-`must` regex helpers failing on a bad pattern while `regexMatch` quietly returns false.
 * Non-deterministic and crypto functions are declared (so templates still parse as in bldr) but
 * fail when called.
 */
import { durationString, parseDuration } from "./duration.ts";
import { adler32, base32Decode, base32Encode, base64Decode, hash } from "./encoding.ts";
import { sprint, sprintf } from "./fmt.ts";
import { checkSize, FuncError, type FuncMap, fn, type GoFunc, MAX_LIST, type ParamType } from "./funcs.ts";
import { pathBase, pathClean, pathDir, pathExt } from "./gopath.ts";
import {
  compileGoRegexRaw,
  findAllString,
  findIndex,
  type GoRegexp,
  GoRegexSyntaxError,
  matchString,
  quoteMeta,
  replaceAllString,
  splitString,
} from "./goregex.ts";
import { marshal, marshalIndent, marshalRaw, unmarshal } from "./json.ts";
import { parseURL, urlString } from "./neturl.ts";
import { SemverConstraints, SemverError, SemverVersion } from "./semver.ts";
import {
  byteLength,
  byteSlice,
  compareStrings,
  floatToInt64,
  fromRunes,
  isLower,
  isSpace,
  isTitle,
  isUpper,
  mapRunes,
  parseDecimalInt,
  parseFloat64,
  parseInt0,
  quote,
  runes,
  toLowerRune,
  toTitleRune,
  toUpperRune,
  utf8,
  wrapInt64,
} from "./strconv.ts";
import {
  ANY,
  bool,
  deepEqual,
  dict,
  float,
  type GoValue,
  int,
  int64,
  isEmpty,
  isUnsigned,
  kindName,
  list,
  NIL,
  nilSlice,
  sortedKeys,
  str,
  strList,
  typeName,
} from "./values.ts";

const NIL_DEREF = "runtime error: invalid memory address or nil pointer dereference";

// ---------------------------------------------------------------- argument helpers

const S = (v: GoValue | undefined): string => (v as { v: string }).v;
const B = (v: GoValue | undefined): boolean => (v as { v: boolean }).v;
/** An `int` parameter as a JS number (counts and indexes; huge values are clamped safely). */
const N = (v: GoValue | undefined): number => {
  const b = (v as { v: bigint }).v;
  return b > 9_007_199_254_740_991n
    ? Number.MAX_SAFE_INTEGER
    : b < -9_007_199_254_740_991n
      ? -Number.MAX_SAFE_INTEGER
      : Number(b);
};

const isNil = (v: GoValue) => v.k === "nil" || v.k === "invalid";

/** sprig's strval: strings as is, Stringers via String(), everything else via %v. */
export function strval(v: GoValue): string {
  if (v.k === "string") return v.v;
  if (v.k === "semver") return v.ver.toString();
  return sprint([v]);
}

/** spf13/cast's trimZeroDecimal: "12.000" → "12". */
function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === ".") {
      if (foundZero) return s.slice(0, i - 1);
    } else if (c === "0") foundZero = true;
    else return s;
  }
  return s;
}

/** cast.ToInt64 (errors give 0). */
export function toInt64(v: GoValue): bigint {
  switch (v.k) {
    case "int":
      return isUnsigned(v.t) ? BigInt.asIntN(64, v.v) : v.v;
    case "float":
      return floatToInt64(v.v);
    case "string":
      try {
        return parseInt0(trimZeroDecimal(v.v));
      } catch {
        return 0n;
      }
    case "bool":
      return v.v ? 1n : 0n;
    default:
      return 0n;
  }
}

/** cast.ToFloat64 (errors give 0). */
export function toFloat64(v: GoValue): number {
  switch (v.k) {
    case "int":
      return Number(isUnsigned(v.t) ? BigInt.asUintN(64, v.v) : v.v);
    case "float":
      return v.v;
    case "string":
      try {
        return parseFloat64(v.v);
      } catch {
        return 0;
      }
    case "bool":
      return v.v ? 1 : 0;
    default:
      return 0;
  }
}

/** Items of a slice argument, with sprig's error for other kinds and Go's panic for nil. */
function itemsOf(v: GoValue, message: (kind: string) => string): GoValue[] {
  if (isNil(v)) throw new FuncError(NIL_DEREF);
  if (v.k === "slice") return v.items;
  throw new FuncError(message(kindName(v)));
}

/** sprig's strslice. */
function strslice(v: GoValue): string[] {
  if (v.k === "slice") return v.items.filter((x) => !isNil(x)).map(strval);
  if (isNil(v)) return [];
  return [strval(v)];
}

function mapOf(v: GoValue): Map<string, GoValue> {
  if (v.k === "map") return v.entries;
  return new Map();
}

function regex(pattern: string, must: boolean): GoRegexp {
  try {
    return compileGoRegexRaw(pattern);
  } catch (e) {
    if (e instanceof GoRegexSyntaxError) {
      // regexp.MustCompile panics with the pattern quoted; the must* variants return the error.
      throw new FuncError(
        must ? e.message : `regexp: Compile(${quote(pattern)}): ${e.message}`,
        "use Go RE2 syntax (no backreferences or lookaround); inside a template string write a backslash as \\\\",
      );
    }
    throw e;
  }
}

function stringList(items: readonly string[] | null): GoValue {
  return items === null ? nilSlice("string") : strList(items);
}

function intList(values: number[]): GoValue {
  return list(
    values.map((v) => int(v)),
    "int",
  );
}

// ---------------------------------------------------------------- strings

/** strings.TrimSpace. */
function trimSpace(s: string): string {
  const rs = runes(s);
  let a = 0;
  let b = rs.length;
  while (a < b && isSpace(rs[a]!)) a++;
  while (b > a && isSpace(rs[b - 1]!)) b--;
  return a === 0 && b === rs.length ? s : fromRunes(rs.slice(a, b));
}

/** strings.Trim(s, cutset). */
function trimCutset(s: string, cutset: string): string {
  if (s === "" || cutset === "") return s;
  const set = new Set(runes(cutset));
  const rs = runes(s);
  let a = 0;
  let b = rs.length;
  while (a < b && set.has(rs[a]!)) a++;
  while (b > a && set.has(rs[b - 1]!)) b--;
  return fromRunes(rs.slice(a, b));
}

/** strings.Title: upper-cases the first letter of each word. */
function title(s: string): string {
  const isSeparator = (r: number) => {
    if (r <= 0x7f) return !/[0-9a-zA-Z_]/.test(String.fromCharCode(r));
    if (/[\p{L}\p{Nd}]/u.test(String.fromCodePoint(r))) return false;
    return isSpace(r);
  };
  let prev = 0x20;
  return mapRunes(s, (r) => {
    const out = isSeparator(prev) ? toTitleRune(r) : r;
    prev = r;
    return out;
  });
}

/** strings.Split. */
function split(s: string, sep: string, n = -1): string[] | null {
  if (n === 0) return null;
  if (sep === "") {
    const chars = [...s];
    if (n < 0 || n >= chars.length) return chars;
    return [...chars.slice(0, n - 1), chars.slice(n - 1).join("")];
  }
  const parts = s.split(sep);
  if (n < 0 || n >= parts.length) return parts;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

function partsMap(parts: string[] | null): GoValue {
  const m = new Map<string, GoValue>();
  (parts ?? []).forEach((p, i) => {
    m.set(`_${i}`, str(p));
  });
  return dict(m, "string");
}

function repeat(s: string, count: number): string {
  if (count < 0) throw new FuncError("strings: negative Repeat count");
  checkSize(s.length * count);
  return s.repeat(count);
}

function sliceBounds(start: number, end: number, len: number): never {
  throw new FuncError(
    `runtime error: slice bounds out of range [${start}:${end}]${end > len ? ` with length ${len}` : ""}`,
  );
}

/** sprig's substring: s[:end] when start < 0, s[start:] when end is out of range; Go panics otherwise. */
function substring(start: number, end: number, s: string): string {
  const len = byteLength(s);
  if (start < 0) {
    if (end < 0 || end > len) sliceBounds(0, end, len);
    return byteSlice(s, 0, end);
  }
  if (end < 0 || end > len) {
    if (start > len) sliceBounds(start, len, len);
    return byteSlice(s, start);
  }
  if (start > end) sliceBounds(start, end, len);
  return byteSlice(s, start, end);
}

function trunc(c: number, s: string): string {
  const len = byteLength(s);
  if (c < 0 && len + c > 0) return byteSlice(s, len + c);
  if (c >= 0 && len > c) return byteSlice(s, 0, c);
  return s;
}

/** goutils.AbbreviateFull. */
function abbreviateFull(str0: string, offset0: number, maxWidth: number): string {
  let offset = offset0;
  const len = byteLength(str0);
  if (str0 === "") return "";
  if (maxWidth < 4) throw new FuncError("stringutils illegal argument: Minimum abbreviation width is 4");
  if (len <= maxWidth) return str0;
  if (offset > len) offset = len;
  if (len - offset < maxWidth - 3) offset = len - (maxWidth - 3);
  if (offset <= 4) return `${byteSlice(str0, 0, maxWidth - 3)}...`;
  if (maxWidth < 7)
    throw new FuncError("stringutils illegal argument: Minimum abbreviation width with offset is 7");
  if (offset + maxWidth - 3 < len) return `...${abbreviateFull(byteSlice(str0, offset), 0, maxWidth - 3)}`;
  return `...${byteSlice(str0, len - (maxWidth - 3))}`;
}

/** goutils.WrapCustom (byte based, as in the library). */
function wrapCustom(s: string, wrapLength0: number, newLine0: string, wrapLongWords: boolean): string {
  if (s === "") return "";
  const newLine = newLine0 === "" ? "\n" : newLine0;
  const wrapLength = Math.max(1, wrapLength0);
  const b = utf8(s);
  const text = (x: number, y?: number) => b.subarray(x, y).toString("utf8");
  const inputLen = b.length;
  let offset = 0;
  let out = "";
  while (inputLen - offset > wrapLength) {
    if (b[offset] === 0x20) {
      offset++;
      continue;
    }
    const end = Math.min(wrapLength + offset + 1, inputLen);
    const space = b.subarray(offset, end).lastIndexOf(0x20);
    if (space >= 0) {
      out += text(offset, offset + space) + newLine;
      offset = offset + space + 1;
    } else if (wrapLongWords) {
      out += text(offset, wrapLength + offset) + newLine;
      offset += wrapLength;
    } else {
      const e = wrapLength + offset;
      const idx = b.subarray(e).indexOf(0x20);
      if (idx < 0) {
        out += text(offset);
        offset = inputLen;
      } else {
        out += text(offset, idx + e) + newLine;
        offset = idx + e + 1;
      }
    }
    checkSize(out.length);
  }
  return out + text(offset);
}

/** goutils.Initials: first byte of each whitespace-separated word (the library works on bytes). */
function initials(s: string): string {
  let out = "";
  let lastWasGap = true;
  for (const b of utf8(s)) {
    if (isSpace(b)) lastWasGap = true;
    else if (lastWasGap) {
      out += String.fromCharCode(b);
      lastWasGap = false;
    }
  }
  return out;
}

/** goutils.DeleteWhiteSpace: drops whitespace bytes, re-encoding each kept byte as a rune. */
function deleteWhiteSpace(s: string): string {
  const bytes = utf8(s);
  if (!bytes.some((b) => isSpace(b))) return s;
  let out = "";
  for (const b of bytes) if (!isSpace(b)) out += String.fromCharCode(b);
  return out;
}

function swapCase(s: string): string {
  return mapRunes(s, (r) => (isUpper(r) || isTitle(r) ? toLowerRune(r) : isLower(r) ? toUpperRune(r) : r));
}

/** Words for the case-conversion helpers: split on separators and case/digit boundaries. */
function caseWords(s: string): string[] {
  const words: string[] = [];
  for (const chunk of s.split(/[\s_\-.]+/u)) {
    if (chunk === "") continue;
    const parts = chunk.match(
      /\p{Lu}+(?=\p{Lu}\p{Ll})|\p{Lu}?\p{Ll}+|\p{Lu}+|\p{N}+[\p{Ll}\p{N}]*|[^\p{Lu}\p{Ll}\p{N}]+/gu,
    );
    words.push(...(parts ?? [chunk]));
  }
  return words;
}

const lowerS = (s: string) => mapRunes(s, toLowerRune);
const upperS = (s: string) => mapRunes(s, toUpperRune);

function camelcase(s: string): string {
  const lead = /^_*/.exec(s)![0];
  const trail = s.length > lead.length ? /_*$/.exec(s)![0] : "";
  const words = caseWords(s);
  return lead + words.map((w) => upperS(w.slice(0, 1)) + lowerS(w.slice(1))).join("") + trail;
}

const snakecase = (s: string) => caseWords(s).map(lowerS).join("_");
const kebabcase = (s: string) => caseWords(s).map(lowerS).join("-");

function untitle(s: string): string {
  const rs = runes(s);
  if (rs.length === 0) return s;
  rs[0] = toLowerRune(rs[0]!);
  return fromRunes(rs);
}

// ---------------------------------------------------------------- decimal arithmetic (shopspring/decimal)

interface Dec {
  c: bigint;
  e: number;
}

function decFromFloat(f: number): Dec {
  if (!Number.isFinite(f)) throw new FuncError(`Cannot create a Decimal from ${f}`);
  if (f === 0) return { c: 0n, e: 0 };
  const [m, ex] = f.toExponential().split("e") as [string, string];
  const digits = m.replace(".", "").replace("-", "");
  const frac = (m.split(".")[1] ?? "").length;
  return { c: BigInt((f < 0 ? "-" : "") + digits), e: Number(ex) - frac };
}

function decAlign(a: Dec, b: Dec): [bigint, bigint, number] {
  const e = Math.min(a.e, b.e);
  return [a.c * 10n ** BigInt(a.e - e), b.c * 10n ** BigInt(b.e - e), e];
}

function decToFloat(d: Dec): number {
  return Number(`${d.c}e${d.e}`);
}

/** shopspring/decimal Div: DivRound to 16 places, half away from zero. */
function decDiv(a: Dec, b: Dec): Dec {
  if (b.c === 0n) throw new FuncError("decimal division by 0");
  const scale = 16;
  const k = a.e - b.e + scale;
  let num = a.c;
  let den = b.c;
  if (k >= 0) num *= 10n ** BigInt(k);
  else den *= 10n ** BigInt(-k);
  let q = num / den;
  const r = num % den;
  const abs = (x: bigint) => (x < 0n ? -x : x);
  if (2n * abs(r) >= abs(den)) q += num < 0n !== den < 0n ? -1n : 1n;
  return { c: q, e: -scale };
}

function decimalOp(first: GoValue, rest: GoValue[], op: "add" | "sub" | "mul" | "div"): GoValue {
  let acc = decFromFloat(toFloat64(first));
  for (const x of rest) {
    const d = decFromFloat(toFloat64(x));
    if (op === "mul") acc = { c: acc.c * d.c, e: acc.e + d.e };
    else if (op === "div") acc = decDiv(acc, d);
    else {
      const [p, q, e] = decAlign(acc, d);
      acc = { c: op === "add" ? p + q : p - q, e };
    }
  }
  return float(decToFloat(acc));
}

// ---------------------------------------------------------------- collections

function untilStep(start: number, stop: number, step: number): number[] {
  const out: number[] = [];
  const push = (i: number) => {
    if (out.length >= MAX_LIST) throw new FuncError(`list too large (more than ${MAX_LIST} elements)`);
    out.push(i);
  };
  if (stop < start) {
    if (step >= 0) return out;
    for (let i = start; i > stop; i += step) push(i);
    return out;
  }
  if (step <= 0) return out;
  for (let i = start; i < stop; i += step) push(i);
  return out;
}

function seq(params: number[]): string {
  const join = (xs: number[]) => xs.join(" ");
  switch (params.length) {
    case 0:
      return "";
    case 1: {
      const end = params[0]!;
      const inc = end < 1 ? -1 : 1;
      return join(untilStep(1, end + inc, inc));
    }
    case 2: {
      const [start, end] = params as [number, number];
      const step = end < start ? -1 : 1;
      return join(untilStep(start, end + step, step));
    }
    case 3: {
      const [start, step, end] = params as [number, number, number];
      let inc = 1;
      if (end < start) {
        inc = -1;
        if (step > 0) return "";
      }
      return join(untilStep(start, end + inc, step));
    }
    default:
      return "";
  }
}

function inList(haystack: readonly GoValue[], needle: GoValue): boolean {
  return haystack.some((h) => deepEqual(needle, h));
}

function deepCopy(v: GoValue, budget = { left: MAX_LIST }): GoValue {
  if (--budget.left < 0) throw new FuncError(`value too large to copy (more than ${MAX_LIST} elements)`);
  switch (v.k) {
    case "slice":
      return {
        k: "slice",
        elem: v.elem,
        items: v.items.map((x) => deepCopy(x, budget)),
        ...(v.isNil ? { isNil: true } : {}),
      };
    case "map":
      return {
        k: "map",
        elem: v.elem,
        entries: new Map([...v.entries].map(([k, x]) => [k, deepCopy(x, budget)])),
        ...(v.isNil ? { isNil: true } : {}),
      };
    default:
      return v;
  }
}

function mergeInto(
  dst: Map<string, GoValue>,
  src: Map<string, GoValue>,
  overwrite: boolean,
  depth = 0,
): void {
  if (depth > 100) return;
  for (const [key, s] of src) {
    const d = dst.get(key);
    if (d && d.k === "map" && s.k === "map" && d.elem === ANY && s.elem === ANY) {
      mergeInto(d.entries, s.entries, overwrite, depth + 1);
      continue;
    }
    if (overwrite) {
      if (!isEmpty(s) || d === undefined) dst.set(key, s);
    } else if (d === undefined || isEmpty(d)) dst.set(key, s);
  }
}

function digFrom(m: Map<string, GoValue>, def: GoValue, keys: string[]): GoValue {
  const [k, ...rest] = keys;
  const step = m.get(k!);
  if (step === undefined) return def;
  if (rest.length === 0) return step;
  if (step.k !== "map" || step.elem !== ANY) {
    throw new FuncError(
      `interface conversion: interface {} is ${typeName(step)}, not map[string]interface {}`,
    );
  }
  return digFrom(step.entries, def, rest);
}

// ---------------------------------------------------------------- the table

type Body = (a: GoValue[]) => GoValue;
const f = (params: readonly ParamType[], body: Body, variadic?: ParamType): GoFunc =>
  fn(params, body, variadic);

/** A function sprig's hermetic map has but we do not implement: templates parse, calls fail. */
const unsupported = (name: string, why: string): GoFunc => ({
  params: [],
  variadic: "any",
  unsupported: true,
  fn: () => {
    throw new FuncError(`${name} is not supported by talos-ext (${why})`, `remove ${name} from the template`);
  },
});

function listFuncs(): Record<string, GoFunc> {
  const push = (l: GoValue, v: GoValue) => list([...itemsOf(l, (k) => `Cannot push on type ${k}`), v]);
  const prepend = (l: GoValue, v: GoValue) => list([v, ...itemsOf(l, (k) => `Cannot prepend on type ${k}`)]);
  const first = (l: GoValue) => itemsOf(l, (k) => `Cannot find first on type ${k}`)[0] ?? NIL;
  const last = (l: GoValue) => {
    const items = itemsOf(l, (k) => `Cannot find last on type ${k}`);
    return items[items.length - 1] ?? NIL;
  };
  const rest = (l: GoValue) => {
    const items = itemsOf(l, (k) => `Cannot find rest on type ${k}`);
    return items.length === 0 ? nilSlice() : list(items.slice(1));
  };
  const initial = (l: GoValue) => {
    const items = itemsOf(l, (k) => `Cannot find initial on type ${k}`);
    return items.length === 0 ? nilSlice() : list(items.slice(0, -1));
  };
  const reverse = (l: GoValue) => list([...itemsOf(l, (k) => `Cannot find reverse on type ${k}`)].reverse());
  const compact = (l: GoValue) =>
    list(itemsOf(l, (k) => `Cannot compact on type ${k}`).filter((x) => !isEmpty(x)));
  const uniq = (l: GoValue) => {
    const out: GoValue[] = [];
    for (const x of itemsOf(l, (k) => `Cannot find uniq on type ${k}`)) if (!inList(out, x)) out.push(x);
    return list(out);
  };
  const without = (l: GoValue, omit: GoValue[]) =>
    list(itemsOf(l, (k) => `Cannot find without on type ${k}`).filter((x) => !inList(omit, x)));
  const has = (needle: GoValue, haystack: GoValue) => {
    if (isNil(haystack)) return false;
    return inList(
      itemsOf(haystack, (k) => `Cannot find has on type ${k}`),
      needle,
    );
  };
  const slice = (l: GoValue, indices: GoValue[]) => {
    if (isNil(l)) throw new FuncError(NIL_DEREF);
    if (l.k !== "slice") throw new FuncError(`list should be type of slice or array but ${kindName(l)}`);
    const n = l.items.length;
    if (n === 0) return NIL;
    const start = indices.length > 0 ? Number(toInt64(indices[0]!)) : 0;
    const end = indices.length < 2 ? n : Number(toInt64(indices[1]!));
    if (start < 0 || end > n || start > end)
      throw new FuncError("reflect.Value.Slice: slice index out of bounds");
    return { k: "slice", elem: l.elem, items: l.items.slice(start, end) } as GoValue;
  };
  const chunk = (size: number, l: GoValue) => {
    const items = itemsOf(l, (k) => `Cannot chunk type ${k}`);
    if (size <= 0) throw new FuncError("runtime error: integer divide by zero");
    const out: GoValue[] = [];
    for (let i = 0; i < items.length; i += size) out.push(list(items.slice(i, i + size)));
    return list(out, "[]interface {}");
  };
  const mustify = (name: string, body: Body, params: readonly ParamType[], variadic?: ParamType) => ({
    [name]: f(params, body, variadic),
    [`must${name[0]!.toUpperCase()}${name.slice(1)}`]: f(params, body, variadic),
  });
  return {
    list: f([], (a) => list(a), "any"),
    tuple: f([], (a) => list(a), "any"),
    ...mustify("append", ([l, v]) => push(l!, v!), ["any", "any"]),
    ...mustify("push", ([l, v]) => push(l!, v!), ["any", "any"]),
    ...mustify("prepend", ([l, v]) => prepend(l!, v!), ["any", "any"]),
    ...mustify("first", ([l]) => first(l!), ["any"]),
    ...mustify("last", ([l]) => last(l!), ["any"]),
    ...mustify("rest", ([l]) => rest(l!), ["any"]),
    ...mustify("initial", ([l]) => initial(l!), ["any"]),
    ...mustify("reverse", ([l]) => reverse(l!), ["any"]),
    ...mustify("compact", ([l]) => compact(l!), ["any"]),
    ...mustify("uniq", ([l]) => uniq(l!), ["any"]),
    ...mustify("without", ([l, ...o]) => without(l!, o), ["any"], "any"),
    ...mustify("has", ([n, h]) => bool(has(n!, h!)), ["any", "any"]),
    ...mustify("slice", ([l, ...ix]) => slice(l!, ix), ["any"], "any"),
    ...mustify("chunk", ([n, l]) => chunk(N(n), l!), ["int", "any"]),
    concat: f(
      [],
      (ls) => {
        const out: GoValue[] = [];
        for (const l of ls) out.push(...itemsOf(l, (k) => `Cannot concat type ${k} as list`));
        return out.length === 0 ? nilSlice() : list(out);
      },
      "any",
    ),
    sortAlpha: f(["any"], ([l]) => {
      if (l!.k !== "slice") return strList([strval(l!)]);
      return strList(strslice(l!).sort(compareStrings));
    }),
  };
}

function dictFuncs(): Record<string, GoFunc> {
  const mapArg = (v: GoValue | undefined) => mapOf(v!);
  return {
    dict: f(
      [],
      (a) => {
        const m = new Map<string, GoValue>();
        for (let i = 0; i < a.length; i += 2) m.set(strval(a[i]!), i + 1 < a.length ? a[i + 1]! : str(""));
        return dict(m);
      },
      "any",
    ),
    get: f(["map", "string"], ([d, k]) => mapArg(d).get(S(k)) ?? str("")),
    set: f(["map", "string", "any"], ([d, k, v]) => {
      if ((d as { isNil?: boolean }).isNil) throw new FuncError("assignment to entry in nil map");
      mapArg(d).set(S(k), v!);
      return d!;
    }),
    unset: f(["map", "string"], ([d, k]) => {
      mapArg(d).delete(S(k));
      return d!;
    }),
    hasKey: f(["map", "string"], ([d, k]) => bool(mapArg(d).has(S(k)))),
    pluck: f(
      ["string"],
      ([k, ...ds]) => list(ds.map((d) => mapArg(d).get(S(k))).filter((x): x is GoValue => x !== undefined)),
      "map",
    ),
    keys: f([], (ds) => strList(ds.flatMap((d) => sortedKeys(mapArg(d)))), "map"),
    values: f(["map"], ([d]) => {
      const m = mapArg(d);
      return list(sortedKeys(m).map((k) => m.get(k)!));
    }),
    pick: f(
      ["map"],
      ([d, ...ks]) => {
        const m = mapArg(d);
        const out = new Map<string, GoValue>();
        for (const k of ks) if (m.has(S(k))) out.set(S(k), m.get(S(k))!);
        return dict(out);
      },
      "string",
    ),
    omit: f(
      ["map"],
      ([d, ...ks]) => {
        const drop = new Set(ks.map(S));
        return dict(new Map([...mapArg(d)].filter(([k]) => !drop.has(k))));
      },
      "string",
    ),
    merge: f(
      ["map"],
      ([d, ...srcs]) => {
        for (const s of srcs) mergeInto(mapArg(d), mapArg(s), false);
        return d!;
      },
      "map",
    ),
    mustMerge: f(
      ["map"],
      ([d, ...srcs]) => {
        for (const s of srcs) mergeInto(mapArg(d), mapArg(s), false);
        return d!;
      },
      "map",
    ),
    mergeOverwrite: f(
      ["map"],
      ([d, ...srcs]) => {
        for (const s of srcs) mergeInto(mapArg(d), mapArg(s), true);
        return d!;
      },
      "map",
    ),
    mustMergeOverwrite: f(
      ["map"],
      ([d, ...srcs]) => {
        for (const s of srcs) mergeInto(mapArg(d), mapArg(s), true);
        return d!;
      },
      "map",
    ),
    dig: f(
      [],
      (a) => {
        if (a.length < 3) throw new FuncError("dig needs at least three arguments");
        const d = a[a.length - 1]!;
        if (d.k !== "map" || d.elem !== ANY) {
          throw new FuncError(
            `interface conversion: interface {} is ${typeName(d)}, not map[string]interface {}`,
          );
        }
        const keys = a.slice(0, -2).map((k) => {
          if (k.k !== "string")
            throw new FuncError(`interface conversion: interface {} is ${typeName(k)}, not string`);
          return k.v;
        });
        return digFrom(d.entries, a[a.length - 2]!, keys);
      },
      "any",
    ),
    deepCopy: f(["any"], ([v]) => deepCopy(v!)),
    mustDeepCopy: f(["any"], ([v]) => deepCopy(v!)),
  };
}

function regexFuncs(): Record<string, GoFunc> {
  const both = (name: string, params: readonly ParamType[], body: (must: boolean) => Body) => ({
    [name]: f(params, body(false)),
    [`must${name[0]!.toUpperCase()}${name.slice(1)}`]: f(params, body(true)),
  });
  return {
    regexMatch: f(["string", "string"], ([re, s]) => {
      try {
        return bool(matchString(compileGoRegexRaw(S(re)), S(s)));
      } catch (e) {
        if (e instanceof GoRegexSyntaxError) return bool(false);
        throw e;
      }
    }),
    mustRegexMatch: f(["string", "string"], ([re, s]) => bool(matchString(regex(S(re), true), S(s)))),
    ...both("regexFindAll", ["string", "string", "int"], (must) => ([re, s, n]) => {
      const out = findAllString(regex(S(re), must), S(s), N(n));
      return stringList(out.length === 0 ? null : out);
    }),
    ...both("regexFind", ["string", "string"], (must) => ([re, s]) => {
      const m = findIndex(regex(S(re), must), S(s));
      return str(m ? S(s).slice(m[0], m[1]) : "");
    }),
    ...both(
      "regexReplaceAll",
      ["string", "string", "string"],
      (must) =>
        ([re, s, r]) =>
          str(replaceAllString(regex(S(re), must), S(s), S(r))),
    ),
    ...both(
      "regexReplaceAllLiteral",
      ["string", "string", "string"],
      (must) =>
        ([re, s, r]) =>
          str(replaceAllString(regex(S(re), must), S(s), S(r), true)),
    ),
    ...both(
      "regexSplit",
      ["string", "string", "int"],
      (must) =>
        ([re, s, n]) =>
          stringList(splitString(regex(S(re), must), S(s), N(n))),
    ),
    regexQuoteMeta: f(["string"], ([s]) => str(quoteMeta(S(s)))),
  };
}

function numberFuncs(): Record<string, GoFunc> {
  const i64 = (v: bigint) => int64(wrapInt64(v));
  const divide = (a: bigint, b: bigint, op: "div" | "mod") => {
    if (b === 0n) throw new FuncError("runtime error: integer divide by zero");
    return i64(op === "div" ? a / b : a % b);
  };
  return {
    atoi: f(["string"], ([s]) => int(parseDecimalInt(S(s)).value)),
    int: f(["any"], ([v]) => int(toInt64(v!))),
    int64: f(["any"], ([v]) => int64(toInt64(v!))),
    float64: f(["any"], ([v]) => float(toFloat64(v!))),
    toDecimal: f(["any"], ([v]) => {
      const m = /^([+-]?)([0-7]+)$/.exec(sprint([v!]));
      if (!m) return int64(0n);
      const n = (m[1] === "-" ? -1n : 1n) * BigInt(`0o${m[2]}`);
      return int64(n > (1n << 63n) - 1n || n < -(1n << 63n) ? 0n : n);
    }),
    add1: f(["any"], ([v]) => i64(toInt64(v!) + 1n)),
    add: f([], (a) => i64(a.reduce((acc, x) => wrapInt64(acc + toInt64(x)), 0n)), "any"),
    sub: f(["any", "any"], ([a, b]) => i64(toInt64(a!) - toInt64(b!))),
    div: f(["any", "any"], ([a, b]) => divide(toInt64(a!), toInt64(b!), "div")),
    mod: f(["any", "any"], ([a, b]) => divide(toInt64(a!), toInt64(b!), "mod")),
    mul: f(
      ["any"],
      ([a, ...r]) => i64(r.reduce((acc, x) => wrapInt64(acc * toInt64(x)), toInt64(a!))),
      "any",
    ),
    add1f: f(["any"], ([v]) => decimalOp(v!, [int(1)], "add")),
    addf: f([], (a) => decimalOp(float(0), a, "add"), "any"),
    subf: f(["any"], ([a, ...r]) => decimalOp(a!, r, "sub"), "any"),
    mulf: f(["any"], ([a, ...r]) => decimalOp(a!, r, "mul"), "any"),
    divf: f(["any"], ([a, ...r]) => decimalOp(a!, r, "div"), "any"),
    max: f(["any"], ([a, ...r]) => int64(extreme(a!, r, 1)), "any"),
    biggest: f(["any"], ([a, ...r]) => int64(extreme(a!, r, 1)), "any"),
    min: f(["any"], ([a, ...r]) => int64(extreme(a!, r, -1)), "any"),
    maxf: f(["any"], ([a, ...r]) => float(r.reduce((m, x) => goMax(m, toFloat64(x)), toFloat64(a!))), "any"),
    minf: f(["any"], ([a, ...r]) => float(r.reduce((m, x) => goMin(m, toFloat64(x)), toFloat64(a!))), "any"),
    ceil: f(["any"], ([v]) => float(Math.ceil(toFloat64(v!)))),
    floor: f(["any"], ([v]) => float(Math.floor(toFloat64(v!)))),
    round: f(
      ["any", "int"],
      ([a, p, ...opt]) => {
        const roundOn = opt.length > 0 ? (opt[0] as { v: number }).v : 0.5;
        const pow = 10 ** N(p);
        const digit = pow * toFloat64(a!);
        const frac = digit - Math.trunc(digit);
        return float((frac >= roundOn ? Math.ceil(digit) : Math.floor(digit)) / pow);
      },
      "float64",
    ),
    seq: f([], (a) => str(seq(a.map(N))), "int"),
    until: f(["int"], ([n]) => intList(untilStep(0, N(n), N(n) < 0 ? -1 : 1))),
    untilStep: f(["int", "int", "int"], ([a, b, c]) => intList(untilStep(N(a), N(b), N(c)))),
    randInt: unsupported("randInt", "it is not deterministic"),
  };
}

/** sprig's max/min over cast.ToInt64 values. */
function extreme(first: GoValue, rest: GoValue[], sign: 1 | -1): bigint {
  let m = toInt64(first);
  for (const x of rest) {
    const v = toInt64(x);
    if (sign > 0 ? v > m : v < m) m = v;
  }
  return m;
}

const goMax = (a: number, b: number) =>
  Number.isNaN(a) || Number.isNaN(b)
    ? Number.NaN
    : a === 0 && b === 0
      ? Object.is(a, -0)
        ? b
        : a
      : Math.max(a, b);
const goMin = (a: number, b: number) =>
  Number.isNaN(a) || Number.isNaN(b)
    ? Number.NaN
    : a === 0 && b === 0
      ? Object.is(a, -0)
        ? a
        : b
      : Math.min(a, b);

function stringFuncs(): Record<string, GoFunc> {
  const s1 = (g: (s: string) => string) => f(["string"], ([s]) => str(g(S(s))));
  return {
    hello: f([], () => str("Hello!")),
    abbrev: f(["int", "string"], ([w, s]) => str(N(w) < 4 ? S(s) : abbreviateFull(S(s), 0, N(w)))),
    abbrevboth: f(["int", "int", "string"], ([l, r, s]) => {
      const left = N(l);
      const right = N(r);
      if (right < 4 || (left > 0 && right < 7)) return str(S(s));
      return str(abbreviateFull(S(s), left, right));
    }),
    trunc: f(["int", "string"], ([c, s]) => str(trunc(N(c), S(s)))),
    trim: s1(trimSpace),
    upper: s1(upperS),
    lower: s1(lowerS),
    title: s1(title),
    untitle: s1(untitle),
    substr: f(["int", "int", "string"], ([a, b, s]) => str(substring(N(a), N(b), S(s)))),
    repeat: f(["int", "string"], ([n, s]) => str(repeat(S(s), N(n)))),
    trimall: f(["string", "string"], ([a, b]) => str(trimCutset(S(b), S(a)))),
    trimAll: f(["string", "string"], ([a, b]) => str(trimCutset(S(b), S(a)))),
    trimSuffix: f(["string", "string"], ([a, b]) =>
      str(S(a) !== "" && S(b).endsWith(S(a)) ? S(b).slice(0, S(b).length - S(a).length) : S(b)),
    ),
    trimPrefix: f(["string", "string"], ([a, b]) =>
      str(S(a) !== "" && S(b).startsWith(S(a)) ? S(b).slice(S(a).length) : S(b)),
    ),
    nospace: s1(deleteWhiteSpace),
    initials: s1(initials),
    swapcase: s1(swapCase),
    snakecase: s1(snakecase),
    camelcase: s1(camelcase),
    kebabcase: s1(kebabcase),
    shuffle: unsupported("shuffle", "it is not deterministic"),
    wrap: f(["int", "string"], ([l, s]) => str(wrapCustom(S(s), N(l), "", false))),
    wrapWith: f(["int", "string", "string"], ([l, sep, s]) => str(wrapCustom(S(s), N(l), S(sep), true))),
    contains: f(["string", "string"], ([sub, s]) => bool(S(s).includes(S(sub)))),
    hasPrefix: f(["string", "string"], ([p, s]) => bool(S(s).startsWith(S(p)))),
    hasSuffix: f(["string", "string"], ([p, s]) => bool(S(s).endsWith(S(p)))),
    quote: f(
      [],
      (a) =>
        str(
          a
            .filter((x) => !isNil(x))
            .map((x) => quote(strval(x)))
            .join(" "),
        ),
      "any",
    ),
    squote: f(
      [],
      (a) =>
        str(
          a
            .filter((x) => !isNil(x))
            .map((x) => `'${sprint([x])}'`)
            .join(" "),
        ),
      "any",
    ),
    cat: f(
      [],
      (a) =>
        str(
          a
            .filter((x) => !isNil(x))
            .map((x) => sprintf("%v", [x]))
            .join(" "),
        ),
      "any",
    ),
    indent: f(["int", "string"], ([n, s]) => str(indent(N(n), S(s)))),
    nindent: f(["int", "string"], ([n, s]) => str(`\n${indent(N(n), S(s))}`)),
    replace: f(["string", "string", "string"], ([o, n, s]) => str(replaceAll(S(s), S(o), S(n)))),
    plural: f(["string", "string", "int"], ([one, many, c]) =>
      str((c as { v: bigint }).v === 1n ? S(one) : S(many)),
    ),
    sha1sum: s1(hash("sha1")),
    sha256sum: s1(hash("sha256")),
    sha512sum: s1(hash("sha512")),
    adler32sum: s1((s) => String(adler32(s))),
    toString: f(["any"], ([v]) => str(strval(v!))),
    split: f(["string", "string"], ([sep, s]) => partsMap(split(S(s), S(sep)))),
    splitList: f(["string", "string"], ([sep, s]) => stringList(split(S(s), S(sep)))),
    splitn: f(["string", "int", "string"], ([sep, n, s]) => partsMap(split(S(s), S(sep), N(n)))),
    toStrings: f(["any"], ([v]) => strList(strslice(v!))),
    join: f(["string", "any"], ([sep, v]) => str(strslice(v!).join(S(sep)))),
    b64enc: s1((s) => utf8(s).toString("base64")),
    b64dec: s1(base64Decode),
    b32enc: s1(base32Encode),
    b32dec: s1(base32Decode),
    base: s1(pathBase),
    dir: s1(pathDir),
    clean: s1(pathClean),
    ext: s1(pathExt),
    isAbs: f(["string"], ([s]) => bool(S(s).startsWith("/"))),
    osBase: s1(pathBase),
    osDir: s1(pathDir),
    osClean: s1(pathClean),
    osExt: s1(pathExt),
    osIsAbs: f(["string"], ([s]) => bool(S(s).startsWith("/"))),
    urlParse: f(["string"], ([s]) => {
      const u = parseURL(S(s));
      const host = u.host;
      const hostname = host.startsWith("[")
        ? host.slice(1, host.indexOf("]") < 0 ? undefined : host.indexOf("]"))
        : host.replace(/:[0-9]*$/, "");
      return dict(
        new Map<string, GoValue>([
          ["scheme", str(u.scheme)],
          ["host", str(host)],
          ["hostname", str(hostname)],
          ["path", str(u.path)],
          ["query", str(u.rawQuery)],
          ["opaque", str(u.opaque)],
          ["fragment", str(u.fragment)],
          ["userinfo", str(u.userinfo)],
        ]),
      );
    }),
    urlJoin: f(["map"], ([d]) => {
      const m = mapOf(d!);
      const get = (k: string) => {
        const v = m.get(k);
        if (v === undefined) return "";
        if (v.k !== "string")
          throw new FuncError(`interface conversion: interface {} is ${typeName(v)}, not string`);
        return v.v;
      };
      return str(
        urlString({
          scheme: get("scheme"),
          host: get("host"),
          path: get("path"),
          rawQuery: get("query"),
          opaque: get("opaque"),
          fragment: get("fragment"),
          userinfo: get("userinfo"),
        }),
      );
    }),
  };
}

function replaceAll(s: string, old: string, repl: string): string {
  if (old === "") {
    // strings.Replace with an empty old inserts repl around every rune.
    const chars = [...s];
    checkSize(s.length + repl.length * (chars.length + 1));
    return repl + chars.map((c) => c + repl).join("");
  }
  const n = s.split(old).length - 1;
  checkSize(s.length + n * Math.max(0, repl.length - old.length));
  return s.split(old).join(repl);
}

function indent(n: number, s: string): string {
  if (n < 0) throw new FuncError("strings: negative Repeat count");
  const lines = s.split("\n").length;
  checkSize(s.length + n * lines);
  const pad = " ".repeat(n);
  return pad + s.replaceAll("\n", `\n${pad}`);
}

function defaultFuncs(): Record<string, GoFunc> {
  const json = (enc: (v: GoValue) => string, must: boolean): Body =>
    must
      ? ([v]) => str(enc(v!))
      : ([v]) => {
          try {
            return str(enc(v!));
          } catch (e) {
            if (e instanceof FuncError) return str("");
            throw e;
          }
        };
  return {
    default: f(
      ["any"],
      ([d, ...given]) => (given.length === 0 || isEmpty(given[0]!) ? d! : given[0]!),
      "any",
    ),
    empty: f(["any"], ([v]) => bool(isEmpty(v!))),
    coalesce: f([], (a) => a.find((v) => !isEmpty(v)) ?? NIL, "any"),
    all: f([], (a) => bool(a.every((v) => !isEmpty(v))), "any"),
    any: f([], (a) => bool(a.some((v) => !isEmpty(v))), "any"),
    fromJson: f(["string"], ([s]) => {
      try {
        return unmarshal(S(s));
      } catch (e) {
        if (e instanceof FuncError) return NIL;
        throw e;
      }
    }),
    mustFromJson: f(["string"], ([s]) => unmarshal(S(s))),
    toJson: f(["any"], json(marshal, false)),
    mustToJson: f(["any"], json(marshal, true)),
    toPrettyJson: f(["any"], json(marshalIndent, false)),
    mustToPrettyJson: f(["any"], json(marshalIndent, true)),
    toRawJson: f(["any"], json(marshalRaw, false)),
    mustToRawJson: f(["any"], json(marshalRaw, true)),
    ternary: f(["any", "any", "bool"], ([t, fv, c]) => (B(c) ? t! : fv!)),
    typeOf: f(["any"], ([v]) => str(isNil(v!) ? "<nil>" : typeName(v!))),
    typeIs: f(["string", "any"], ([t, v]) => bool(S(t) === (isNil(v!) ? "<nil>" : typeName(v!)))),
    typeIsLike: f(["string", "any"], ([t, v]) => {
      const name = isNil(v!) ? "<nil>" : typeName(v!);
      return bool(S(t) === name || `*${S(t)}` === name);
    }),
    kindOf: f(["any"], ([v]) => str(kindName(v!))),
    kindIs: f(["string", "any"], ([t, v]) => bool(S(t) === kindName(v!))),
    deepEqual: f(["any", "any"], ([a, b]) => bool(deepEqual(a!, b!))),
    semver: f(["string"], ([s]) => {
      try {
        return { k: "semver", ver: SemverVersion.parse(S(s)) };
      } catch (e) {
        if (e instanceof SemverError) throw new FuncError(e.message);
        throw e;
      }
    }),
    semverCompare: f(["string", "string"], ([c, v]) => {
      try {
        return bool(SemverConstraints.parse(S(c)).check(SemverVersion.parse(S(v))));
      } catch (e) {
        if (e instanceof SemverError) throw new FuncError(e.message);
        throw e;
      }
    }),
    fail: f(["string"], ([m]) => {
      throw new FuncError(S(m), "the template called fail on purpose; check the values it depends on");
    }),
    duration: f(["any"], ([arg]) => {
      const v = arg!;
      let n = 0n;
      if (v.k === "string") {
        const p = parseDecimalInt(v.v);
        n = p.error === "syntax" ? 0n : p.value;
      } else if (v.k === "int" && v.t === "int64") n = v.v;
      return str(durationString(wrapInt64(n * 1_000_000_000n)));
    }),
    durationRound: f(["any"], ([arg]) => {
      const v = arg!;
      let d = 0n;
      if (v.k === "string") {
        try {
          d = parseDuration(v.v);
        } catch {
          d = 0n;
        }
      } else if (v.k === "int" && v.t === "int64") d = v.v;
      const u = d < 0n ? -d : d;
      const units: [bigint, string][] = [
        [31_536_000_000_000_000n, "y"],
        [2_592_000_000_000_000n, "mo"],
        [86_400_000_000_000n, "d"],
        [3_600_000_000_000n, "h"],
        [60_000_000_000n, "m"],
        [1_000_000_000n, "s"],
      ];
      for (const [size, unit] of units) if (u > size) return str(`${u / size}${unit}`);
      return str("0s");
    }),
  };
}

function unsupportedFuncs(): Record<string, GoFunc> {
  const out: Record<string, GoFunc> = {};
  const nondet = [
    "ago",
    "bcrypt",
    "htpasswd",
    "genPrivateKey",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "buildCustomCert",
    "encryptAES",
  ];
  for (const name of nondet) out[name] = unsupported(name, "it is not deterministic");
  const other = [
    "derivePassword",
    "decryptAES",
    "toDate",
    "mustToDate",
    "unixEpoch",

    "mustDateModify",
    "must_date_modify",
  ];
  for (const name of other) out[name] = unsupported(name, "dates and crypto helpers are not implemented");
  return out;
}

/** sprig.HermeticTxtFuncMap() (v3.3.0). */
export const sprigFuncs: FuncMap = {
  ...unsupportedFuncs(),
  ...stringFuncs(),
  ...numberFuncs(),
  ...listFuncs(),
  ...dictFuncs(),
  ...regexFuncs(),
  ...defaultFuncs(),
};

/** Methods of *semver.Version callable as `.Major` etc. */
export function semverMethod(v: SemverVersion, name: string): GoFunc | undefined {
  const u64 = (x: bigint) => int(x, "uint64");
  const other = (o: GoValue | undefined): SemverVersion => {
    if (o?.k !== "semver") throw new FuncError(NIL_DEREF);
    return o.ver;
  };
  switch (name) {
    case "Major":
      return f([], () => u64(v.major));
    case "Minor":
      return f([], () => u64(v.minor));
    case "Patch":
      return f([], () => u64(v.patch));
    case "Prerelease":
      return f([], () => str(v.pre));
    case "Metadata":
      return f([], () => str(v.metadata));
    case "Original":
      return f([], () => str(v.original));
    case "String":
      return f([], () => str(v.toString()));
    case "IncMajor":
      return f([], () => ({ k: "semver", ver: v.incMajor() }));
    case "IncMinor":
      return f([], () => ({ k: "semver", ver: v.incMinor() }));
    case "IncPatch":
      return f([], () => ({ k: "semver", ver: v.incPatch() }));
    case "Compare":
      return f(["semver"], ([o]) => int(v.compare(other(o))));
    case "LessThan":
      return f(["semver"], ([o]) => bool(v.compare(other(o)) < 0));
    case "GreaterThan":
      return f(["semver"], ([o]) => bool(v.compare(other(o)) > 0));
    case "Equal":
      return f(["semver"], ([o]) => bool(v.compare(other(o)) === 0));
    default:
      return undefined;
  }
}
