/**
 * The pieces of Go's `strconv`, `unicode` and `utf8` packages that template literals, `fmt` and
 * sprig need. Go strings are UTF-8 byte strings; ours are JS strings, so byte-oriented
 * operations go through UTF-8 buffers explicitly.
 */
import { decodeUtf8Faithful, encodeUtf8Faithful } from "../utf8.ts";

export class StrconvError extends Error {
  readonly kind: "syntax" | "range";
  constructor(kind: "syntax" | "range", message: string) {
    super(message);
    this.kind = kind;
  }
}

// ---------------------------------------------------------------- UTF-8 and runes

export function utf8(s: string): Buffer {
  return Buffer.from(encodeUtf8Faithful(s));
}

/** Go's len(s): the length in UTF-8 bytes (an invalid byte kept from the input counts as one). */
export function byteLength(s: string): number {
  return s.isWellFormed() ? Buffer.byteLength(s, "utf8") : encodeUtf8Faithful(s).length;
}

/** Go's s[i:j] on bytes; a cut through a multi-byte character keeps the cut bytes, as Go does. */
export function byteSlice(s: string, start: number, end?: number): string {
  if (isAscii(s)) return s.slice(start, end);
  return decodeUtf8Faithful(utf8(s).subarray(start, end));
}

export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The code points of `s` (Go's []rune(s)); lone surrogates become U+FFFD as Go would see them. */
export function runes(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    out.push(c >= 0xd800 && c <= 0xdfff ? 0xfffd : c);
  }
  return out;
}

export function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function fromRunes(rs: readonly number[]): string {
  let out = "";
  for (const r of rs) out += String.fromCodePoint(validRune(r) ? r : 0xfffd);
  return out;
}

export function validRune(r: number): boolean {
  return r >= 0 && r <= 0x10ffff && !(r >= 0xd800 && r <= 0xdfff);
}

const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;
const UPPER = /^\p{Lu}$/u;
const LOWER = /^\p{Ll}$/u;
const TITLE = /^\p{Lt}$/u;
const PRINT = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;
const GRAPHIC_SPACE = /^\p{Zs}$/u;

const ch = (r: number) => (validRune(r) ? String.fromCodePoint(r) : "\ufffd");

export const isLetter = (r: number) =>
  r < 0x80 ? (r | 0x20) >= 0x61 && (r | 0x20) <= 0x7a : LETTER.test(ch(r));
export const isDigit = (r: number) => (r < 0x80 ? r >= 0x30 && r <= 0x39 : DIGIT.test(ch(r)));
export const isUpper = (r: number) => (r < 0x80 ? r >= 0x41 && r <= 0x5a : UPPER.test(ch(r)));
export const isLower = (r: number) => (r < 0x80 ? r >= 0x61 && r <= 0x7a : LOWER.test(ch(r)));
export const isTitle = (r: number) => r >= 0x80 && TITLE.test(ch(r));

/** unicode.IsSpace. */
export function isSpace(r: number): boolean {
  if (r < 0x100) return r === 0x20 || (r >= 0x09 && r <= 0x0d) || r === 0x85 || r === 0xa0;
  return GRAPHIC_SPACE.test(ch(r)) || r === 0x2028 || r === 0x2029;
}

/** strconv.IsPrint / unicode.IsPrint: letters, marks, numbers, punctuation, symbols and U+0020. */
export function isPrint(r: number): boolean {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  if (!validRune(r)) return false;
  return PRINT.test(String.fromCodePoint(r));
}

/** unicode.ToUpper: simple (one rune to one rune) case mapping. */
export function toUpperRune(r: number): number {
  if (r < 0x80) return r >= 0x61 && r <= 0x7a ? r - 32 : r;
  const s = ch(r).toUpperCase();
  const cps = [...s];
  return cps.length === 1 ? cps[0]!.codePointAt(0)! : r;
}

export function toLowerRune(r: number): number {
  if (r < 0x80) return r >= 0x41 && r <= 0x5a ? r + 32 : r;
  if (r === 0x130) return 0x69; // İ lowercases to "i̇" in JS; Go's simple mapping gives 'i'.
  const s = ch(r).toLowerCase();
  const cps = [...s];
  return cps.length === 1 ? cps[0]!.codePointAt(0)! : r;
}

/** unicode.ToTitle; for nearly all runes the same as ToUpper. */
export function toTitleRune(r: number): number {
  switch (r) {
    case 0x1c4:
    case 0x1c5:
    case 0x1c6:
      return 0x1c5;
    case 0x1c7:
    case 0x1c8:
    case 0x1c9:
      return 0x1c8;
    case 0x1ca:
    case 0x1cb:
    case 0x1cc:
      return 0x1cb;
    case 0x1f1:
    case 0x1f2:
    case 0x1f3:
      return 0x1f2;
    default:
      return toUpperRune(r);
  }
}

export const mapRunes = (s: string, f: (r: number) => number): string => fromRunes(runes(s).map(f));

/** Compares two strings by their UTF-8 bytes (Go's string ordering). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Surrogates (astral code points) sort after every BMP code unit in UTF-8 order.
      const sx = x >= 0xd800 && x <= 0xdfff;
      const sy = y >= 0xd800 && y <= 0xdfff;
      if (sx !== sy) return sx ? 1 : -1;
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

// ---------------------------------------------------------------- quoting

const LOWERHEX = "0123456789abcdef";

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

function escapeRune(r: number, quote: number, asciiOnly: boolean, graphicOnly = false): string {
  if (r === quote || r === 0x5c) return `\\${String.fromCharCode(r)}`;
  if (asciiOnly) {
    if (r < 0x80 && isPrint(r)) return String.fromCharCode(r);
  } else if (isPrint(r) || (graphicOnly && isSpace(r))) {
    return String.fromCodePoint(r);
  }
  switch (r) {
    case 7:
      return "\\a";
    case 8:
      return "\\b";
    case 12:
      return "\\f";
    case 10:
      return "\\n";
    case 13:
      return "\\r";
    case 9:
      return "\\t";
    case 11:
      return "\\v";
  }
  if (r < 0x20 || r === 0x7f) return `\\x${LOWERHEX[r >> 4]}${LOWERHEX[r & 15]}`;
  if (!validRune(r)) r = 0xfffd;
  if (r < 0x10000) return `\\u${hex(r, 4)}`;
  return `\\U${hex(r, 8)}`;
}

/** strconv.Quote (or QuoteToASCII). */
export function quote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const r of runes(s)) out += escapeRune(r, 0x22, asciiOnly);
  return `${out}"`;
}

/** strconv.QuoteRune (or QuoteRuneToASCII). */
export function quoteRune(r: number, asciiOnly = false): string {
  if (!validRune(r)) r = 0xfffd;
  return `'${escapeRune(r, 0x27, asciiOnly)}'`;
}

/** strconv.CanBackquote. */
export function canBackquote(s: string): boolean {
  for (const r of runes(s)) {
    if (r === 0xfffd) return false;
    if ((r < 0x20 && r !== 9) || r === 0x60 || r === 0x7f || r === 0xfeff) return false;
  }
  return true;
}

// ---------------------------------------------------------------- unquoting

function unhex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

export interface UnquotedChar {
  /** A rune, or (for \x and octal escapes inside strings) a single byte value. */
  value: number;
  /** True when `value` is a rune that must be UTF-8 encoded; false for a raw byte. */
  multibyte: boolean;
  /** Index (in code units) of the rest of the input. */
  next: number;
}

/**
 * strconv.UnquoteChar: decodes the first character or escape of s[i:] in a literal quoted by
 * `quote` (a code unit, or 0 for none).
 */
export function unquoteChar(s: string, i: number, quote: number): UnquotedChar {
  const c = s.codePointAt(i);
  if (c === undefined) throw new StrconvError("syntax", "invalid syntax");
  if (c === quote && (quote === 0x27 || quote === 0x22)) throw new StrconvError("syntax", "invalid syntax");
  if (c !== 0x5c) return { value: c, multibyte: true, next: i + (c > 0xffff ? 2 : 1) };
  const e = s.charCodeAt(i + 1);
  if (Number.isNaN(e)) throw new StrconvError("syntax", "invalid syntax");
  let j = i + 2;
  switch (e) {
    case 0x61:
      return { value: 7, multibyte: true, next: j };
    case 0x62:
      return { value: 8, multibyte: true, next: j };
    case 0x66:
      return { value: 12, multibyte: true, next: j };
    case 0x6e:
      return { value: 10, multibyte: true, next: j };
    case 0x72:
      return { value: 13, multibyte: true, next: j };
    case 0x74:
      return { value: 9, multibyte: true, next: j };
    case 0x76:
      return { value: 11, multibyte: true, next: j };
    case 0x78:
    case 0x75:
    case 0x55: {
      const n = e === 0x78 ? 2 : e === 0x75 ? 4 : 8;
      let v = 0;
      for (let k = 0; k < n; k++, j++) {
        const d = unhex(s.charCodeAt(j));
        if (d < 0) throw new StrconvError("syntax", "invalid syntax");
        v = v * 16 + d;
      }
      if (e === 0x78) return { value: v, multibyte: false, next: j };
      if (!validRune(v)) throw new StrconvError("syntax", "invalid syntax");
      return { value: v, multibyte: true, next: j };
    }
    case 0x30:
    case 0x31:
    case 0x32:
    case 0x33:
    case 0x34:
    case 0x35:
    case 0x36:
    case 0x37: {
      let v = e - 0x30;
      for (let k = 0; k < 2; k++, j++) {
        const d = s.charCodeAt(j) - 0x30;
        if (!(d >= 0 && d <= 7)) throw new StrconvError("syntax", "invalid syntax");
        v = v * 8 + d;
      }
      if (v > 255) throw new StrconvError("syntax", "invalid syntax");
      return { value: v, multibyte: false, next: j };
    }
    case 0x5c:
      return { value: 0x5c, multibyte: true, next: j };
    case 0x27:
    case 0x22:
      if (e !== quote) throw new StrconvError("syntax", "invalid syntax");
      return { value: e, multibyte: true, next: j };
    default:
      throw new StrconvError("syntax", "invalid syntax");
  }
}

/** strconv.Unquote for "..." and `...` literals (the forms template strings use). */
export function unquote(s: string): string {
  const n = s.length;
  if (n < 2) throw new StrconvError("syntax", "invalid syntax");
  const q = s.charCodeAt(0);
  if (q !== s.charCodeAt(n - 1)) throw new StrconvError("syntax", "invalid syntax");
  const body = s.slice(1, n - 1);
  if (q === 0x60) {
    if (body.includes("`")) throw new StrconvError("syntax", "invalid syntax");
    return body.replaceAll("\r", "");
  }
  if (q !== 0x22) throw new StrconvError("syntax", "invalid syntax");
  if (body.includes("\n")) throw new StrconvError("syntax", "invalid syntax");
  if (!body.includes("\\") && !body.includes('"')) return body;
  // Escapes may produce raw bytes (\xff, \377); collect bytes and decode once so that
  // "\xc3\xa9" becomes "é" as it would in Go.
  const bytes: number[] = [];
  let i = 0;
  while (i < body.length) {
    const u = unquoteChar(body, i, 0x22);
    i = u.next;
    if (u.multibyte) for (const b of utf8(String.fromCodePoint(u.value))) bytes.push(b);
    else bytes.push(u.value);
  }
  return Buffer.from(bytes).toString("utf8");
}

// ---------------------------------------------------------------- numbers

function lower(c: string): string {
  return c.toLowerCase();
}

/** strconv's underscoreOK: underscores may only separate digits (base prefix counts as a digit). */
export function underscoreOK(text: string): boolean {
  let s = text;
  let saw = "^";
  let i = 0;
  if (s.length >= 1 && (s[0] === "-" || s[0] === "+")) s = s.slice(1);
  let isHex = false;
  if (s.length >= 2 && s[0] === "0" && "box".includes(lower(s[1]!))) {
    i = 2;
    saw = "0";
    isHex = lower(s[1]!) === "x";
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= "0" && c <= "9") || (isHex && lower(c) >= "a" && lower(c) <= "f")) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);
const UINT64_MAX = (1n << 64n) - 1n;

/** strconv.ParseUint(s, 0, 64). */
export function parseUint0(text: string): bigint {
  let s = text;
  if (s === "") throw new StrconvError("syntax", "invalid syntax");
  const base0 = true;
  let base = 10;
  if (s[0] === "0") {
    if (s.length >= 3 && lower(s[1]!) === "b") {
      base = 2;
      s = s.slice(2);
    } else if (s.length >= 3 && lower(s[1]!) === "o") {
      base = 8;
      s = s.slice(2);
    } else if (s.length >= 3 && lower(s[1]!) === "x") {
      base = 16;
      s = s.slice(2);
    } else {
      base = 8;
      s = s.slice(1);
    }
  }
  let n = 0n;
  let underscores = false;
  const b = BigInt(base);
  for (const c of s) {
    if (c === "_" && base0) {
      underscores = true;
      continue;
    }
    const d = unhex(c.charCodeAt(0));
    const dv = lower(c) >= "g" && lower(c) <= "z" ? -1 : d;
    if (dv < 0 || dv >= base) throw new StrconvError("syntax", "invalid syntax");
    n = n * b + BigInt(dv);
    if (n > UINT64_MAX) throw new StrconvError("range", "value out of range");
  }
  if (underscores && !underscoreOK(text)) throw new StrconvError("syntax", "invalid syntax");
  return n;
}

/** strconv.ParseInt(s, 0, 64). */
export function parseInt0(text: string): bigint {
  if (text === "") throw new StrconvError("syntax", "invalid syntax");
  let s = text;
  let neg = false;
  if (s[0] === "+" || s[0] === "-") {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  let u: bigint;
  try {
    u = parseUint0(s);
  } catch (e) {
    if (e instanceof StrconvError && e.kind === "range")
      throw new StrconvError("range", "value out of range");
    throw e;
  }
  if (s.includes("_") && !underscoreOK(text)) throw new StrconvError("syntax", "invalid syntax");
  if (!neg && u > INT64_MAX) throw new StrconvError("range", "value out of range");
  if (neg && u > -INT64_MIN) throw new StrconvError("range", "value out of range");
  return neg ? -u : u;
}

/** strconv.ParseInt(s, 10, 64) / Atoi: decimal only, no underscores. Range errors clamp. */
export function parseDecimalInt(text: string): { value: bigint; error?: "syntax" | "range" } {
  if (!/^[+-]?[0-9]+$/.test(text)) return { value: 0n, error: "syntax" };
  const v = BigInt(text);
  if (v > INT64_MAX) return { value: INT64_MAX, error: "range" };
  if (v < INT64_MIN) return { value: INT64_MIN, error: "range" };
  return { value: v };
}

const DEC_FLOAT = /^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
const HEX_FLOAT = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/;

/** strconv.ParseFloat(s, 64) for the number syntax the template lexer accepts. */
export function parseFloat64(text: string): number {
  let s = text;
  if (s.includes("_")) {
    if (!underscoreOK(s)) throw new StrconvError("syntax", "invalid syntax");
    s = s.replaceAll("_", "");
  }
  const lowerS = s.toLowerCase();
  const bare = lowerS.replace(/^[+-]/, "");
  if (bare === "inf" || bare === "infinity") return lowerS.startsWith("-") ? -Infinity : Infinity;
  if (bare === "nan") return Number.NaN;
  if (DEC_FLOAT.test(s)) {
    const v = Number(s);
    if (!Number.isFinite(v)) throw new StrconvError("range", "value out of range");
    return v;
  }
  const m = HEX_FLOAT.exec(s);
  if (m) {
    const intPart = m[2] ?? "";
    const frac = m[3] ?? "";
    if (intPart === "" && frac === "") throw new StrconvError("syntax", "invalid syntax");
    const mant = BigInt(`0x${intPart}${frac}` === "0x" ? "0" : `0x${intPart}${frac}`);
    const exp = Number(m[4]) - 4 * frac.length;
    let v = Number(mant) * 2 ** exp;
    if (!Number.isFinite(v) && mant !== 0n) throw new StrconvError("range", "value out of range");
    if (Number.isNaN(v)) v = 0;
    return m[1] === "-" ? -v : v;
  }
  throw new StrconvError("syntax", "invalid syntax");
}

/** int64 two's complement wrap-around, as Go integer arithmetic does. */
export const wrapInt64 = (v: bigint): bigint => BigInt.asIntN(64, v);
export const INT64 = { MIN: INT64_MIN, MAX: INT64_MAX };
export const UINT64_MAX_VALUE = UINT64_MAX;

/** Go's int64(f) conversion; out-of-range and NaN give math.MinInt64 as on amd64. */
export function floatToInt64(f: number): bigint {
  if (!Number.isFinite(f)) return INT64_MIN;
  const t = Math.trunc(f);
  if (t >= 2 ** 63 || t < -(2 ** 63)) return INT64_MIN;
  return BigInt(t);
}
