/**
 * Go's `fmt` for the values templates produce: Sprint/Sprintln/Sprintf with the common verbs,
 * flags, width and precision (`*` and `[n]` argument indexes too), and Go's error forms
 * (`%!d(string=x)`, `%!d(MISSING)`, `%!(EXTRA int=2)`, `%!(NOVERB)`, `%!(BADWIDTH)`).
 * Float formatting reproduces strconv.FormatFloat: shortest digits for %v, and exact decimal
 * expansion with round-half-even for explicit precisions.
 */
import { LimitError, MAX_STRING } from "./funcs.ts";
import { canBackquote, isPrint, quote, quoteRune, runeCount, utf8, validRune } from "./strconv.ts";
import { type GoValue, isUnsigned, sortedKeys, typeName } from "./values.ts";

// ---------------------------------------------------------------- float digits

/** A decimal: value = 0.d × 10^dp, `d` without leading or trailing zeros ("" for zero). */
interface Decimal {
  d: string;
  dp: number;
}

function trimZeros(x: Decimal): Decimal {
  let d = x.d;
  let end = d.length;
  while (end > 0 && d[end - 1] === "0") end--;
  d = d.slice(0, end);
  return d === "" ? { d: "", dp: 0 } : { d, dp: x.dp };
}

/** The shortest digits that round-trip (what Go's %v and JS's toString both choose). */
function shortestDigits(abs: number): Decimal {
  if (abs === 0) return { d: "", dp: 0 };
  const [mant, exp] = abs.toExponential().split("e") as [string, string];
  return trimZeros({ d: mant.replace(".", ""), dp: Number(exp) + 1 });
}

/** The exact decimal expansion of a finite double. */
function exactDigits(abs: number): Decimal {
  if (abs === 0) return { d: "", dp: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, abs);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exp: number;
  if (biased === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  if (exp >= 0) {
    const s = (mant << BigInt(exp)).toString();
    return trimZeros({ d: s, dp: s.length });
  }
  const s = (mant * 5n ** BigInt(-exp)).toString();
  return trimZeros({ d: s, dp: s.length + exp });
}

/** Go's decimal.Round(nd): round half to even on exact digits. */
function roundDecimal(x: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= x.d.length) return x;
  const digit = x.d.charCodeAt(nd) - 48;
  let up: boolean;
  if (digit === 5 && nd + 1 === x.d.length) up = nd > 0 && (x.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  else up = digit >= 5;
  if (!up) return trimZeros({ d: x.d.slice(0, nd), dp: x.dp });
  let i = nd - 1;
  while (i >= 0 && x.d[i] === "9") i--;
  if (i < 0) return { d: "1", dp: x.dp + 1 };
  return trimZeros({ d: x.d.slice(0, i) + String.fromCharCode(x.d.charCodeAt(i) + 1), dp: x.dp });
}

function fmtE(neg: boolean, x: Decimal, prec: number, e: string): string {
  let out = neg ? "-" : "";
  out += x.d.length === 0 ? "0" : x.d[0];
  if (prec > 0) {
    out += ".";
    const m = Math.min(x.d.length, prec + 1);
    if (m > 1) out += x.d.slice(1, m);
    out += "0".repeat(Math.max(0, prec + 1 - Math.max(m, 1)));
  }
  out += e;
  let exp = x.d.length === 0 ? 0 : x.dp - 1;
  if (exp < 0) {
    out += "-";
    exp = -exp;
  } else out += "+";
  return out + (exp < 10 ? `0${exp}` : String(exp));
}

function fmtF(neg: boolean, x: Decimal, prec: number): string {
  let out = neg ? "-" : "";
  if (x.dp > 0) {
    const m = Math.min(x.d.length, x.dp);
    out += x.d.slice(0, m) + "0".repeat(x.dp - m);
  } else out += "0";
  if (prec > 0) {
    out += ".";
    for (let i = 1; i <= prec; i++) {
      const j = x.dp + i - 1;
      out += j >= 0 && j < x.d.length ? x.d[j] : "0";
    }
  }
  return out;
}

/** strconv.FormatFloat(v, fmt, prec, 64) for fmt in e, E, f, g, G. */
export function formatFloat(v: number, fmt: "e" | "E" | "f" | "g" | "G", prec: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  const neg = v < 0 || Object.is(v, -0);
  const abs = Math.abs(v);
  const shortest = prec < 0;
  let digs: Decimal;
  let p = prec;
  if (shortest) {
    digs = shortestDigits(abs);
    if (fmt === "e" || fmt === "E") p = Math.max(digs.d.length - 1, 0);
    else if (fmt === "f") p = Math.max(digs.d.length - digs.dp, 0);
    else p = digs.d.length;
  } else {
    const exact = exactDigits(abs);
    if (fmt === "f") digs = roundDecimal(exact, exact.dp + p);
    else if (fmt === "e" || fmt === "E") digs = roundDecimal(exact, p + 1);
    else {
      if (p === 0) p = 1;
      digs = roundDecimal(exact, p);
    }
  }
  if (fmt === "e" || fmt === "E") return fmtE(neg, digs, p, fmt);
  if (fmt === "f") return fmtF(neg, digs, p);
  let eprec = p;
  if (eprec > digs.d.length && digs.d.length >= digs.dp) eprec = digs.d.length;
  if (shortest) eprec = 6;
  const exp = digs.dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (p > digs.d.length) p = digs.d.length;
    return fmtE(neg, digs, p - 1, fmt === "g" ? "e" : "E");
  }
  if (p > digs.dp) p = digs.d.length;
  return fmtF(neg, digs, Math.max(p - digs.dp, 0));
}

// ---------------------------------------------------------------- the printer

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  plusV: boolean;
  sharpV: boolean;
  widPresent: boolean;
  precPresent: boolean;
  wid: number;
  prec: number;
}

const noFlags = (): Flags => ({
  plus: false,
  minus: false,
  sharp: false,
  space: false,
  zero: false,
  plusV: false,
  sharpV: false,
  widPresent: false,
  precPresent: false,
  wid: 0,
  prec: 0,
});

const LDIGITS = "0123456789abcdef";
const UDIGITS = "0123456789ABCDEF";

/** Go's %v width/precision numbers stop at a million. */
const tooLarge = (x: number) => x > 1e6 || x < -1e6;

class Printer {
  buf = "";
  f: Flags = noFlags();

  private padding(n: number, zero: boolean): string {
    return n > 0 ? (zero ? "0" : " ").repeat(n) : "";
  }

  /** Pads to the width, counting runes. */
  pad(s: string, allowZero = true): void {
    if (!this.f.widPresent || this.f.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.f.wid - runeCount(s);
    if (this.f.minus) this.buf += s + this.padding(width, false);
    else this.buf += this.padding(width, this.f.zero && allowZero) + s;
  }

  // -------- scalars

  fmtBool(v: boolean, verb: string, arg: GoValue): void {
    if (verb === "t" || verb === "v") this.pad(v ? "true" : "false");
    else this.badVerb(verb, arg);
  }

  fmtInteger(v: bigint, signed: boolean, verb: string, arg: GoValue): void {
    switch (verb) {
      case "v":
        if (this.f.sharpV && !signed) {
          this.fmt0x64(v, true);
          return;
        }
        this.integer(v, 10, signed, verb, LDIGITS);
        return;
      case "d":
        this.integer(v, 10, signed, verb, LDIGITS);
        return;
      case "b":
        this.integer(v, 2, signed, verb, LDIGITS);
        return;
      case "o":
      case "O":
        this.integer(v, 8, signed, verb, LDIGITS);
        return;
      case "x":
        this.integer(v, 16, signed, verb, LDIGITS);
        return;
      case "X":
        this.integer(v, 16, signed, verb, UDIGITS);
        return;
      case "c":
        this.pad(
          String.fromCodePoint(v >= 0n && v <= 0x10ffffn && validRune(Number(v)) ? Number(v) : 0xfffd),
        );
        return;
      case "q": {
        const r = v >= 0n && v <= 0x10ffffn ? Number(v) : 0xfffd;
        if (this.f.sharp && isPrint(r) && r !== 0x27) this.pad(`'${String.fromCodePoint(r)}'`);
        else this.pad(quoteRune(r, this.f.plus));
        return;
      }
      case "U": {
        const u = BigInt.asUintN(64, v);
        let s = `U+${u
          .toString(16)
          .toUpperCase()
          .padStart(this.f.precPresent ? Math.max(this.f.prec, 4) : 4, "0")}`;
        if (this.f.sharp && u <= 0x10ffffn && isPrint(Number(u)))
          s += ` '${String.fromCodePoint(Number(u))}'`;
        const oldZero = this.f.zero;
        this.f.zero = false;
        this.pad(s);
        this.f.zero = oldZero;
        return;
      }
      default:
        this.badVerb(verb, arg);
    }
  }

  private fmt0x64(v: bigint, leading0x: boolean): void {
    const sharp = this.f.sharp;
    this.f.sharp = leading0x;
    this.integer(v, 16, false, "v", LDIGITS);
    this.f.sharp = sharp;
  }

  private integer(value: bigint, base: number, signed: boolean, verb: string, digits: string): void {
    const negative = signed && value < 0n;
    let u = negative ? -value : BigInt.asUintN(64, value);
    let prec = 0;
    if (this.f.precPresent) {
      prec = this.f.prec;
      if (prec === 0 && u === 0n) {
        const oldZero = this.f.zero;
        this.f.zero = false;
        this.buf += this.padding(this.f.wid, false);
        this.f.zero = oldZero;
        return;
      }
    } else if (this.f.zero && !this.f.minus && this.f.widPresent) {
      prec = this.f.wid;
      if (negative || this.f.plus || this.f.space) prec--;
    }
    let s = "";
    const b = BigInt(base);
    if (u === 0n) s = "0";
    while (u > 0n) {
      s = digits[Number(u % b)]! + s;
      u /= b;
    }
    if (s.length < prec) s = "0".repeat(prec - s.length) + s;
    if (this.f.sharp) {
      if (base === 2) s = `0b${s}`;
      else if (base === 8 && s[0] !== "0") s = `0${s}`;
      else if (base === 16) s = `0${digits === UDIGITS ? "X" : "x"}${s}`;
    }
    if (verb === "O") s = `0o${s}`;
    if (negative) s = `-${s}`;
    else if (this.f.plus) s = `+${s}`;
    else if (this.f.space) s = ` ${s}`;
    const oldZero = this.f.zero;
    this.f.zero = false;
    this.pad(s);
    this.f.zero = oldZero;
  }

  fmtFloat(v: number, verb: string, arg: GoValue): void {
    switch (verb) {
      case "v":
        this.float(v, "g", -1, verb);
        return;
      case "g":
      case "G":
        this.float(v, verb, -1, verb);
        return;
      case "f":
      case "F":
        this.float(v, "f", 6, verb);
        return;
      case "e":
      case "E":
        this.float(v, verb, 6, verb);
        return;
      default:
        this.badVerb(verb, arg);
    }
  }

  private float(v: number, fmt: "e" | "E" | "f" | "g" | "G", defaultPrec: number, verb: string): void {
    const prec = this.f.precPresent ? this.f.prec : defaultPrec;
    let num = formatFloat(v, fmt, prec);
    if (num[0] !== "-" && num[0] !== "+") num = `+${num}`;
    if (this.f.space && num[0] === "+" && !this.f.plus) num = ` ${num.slice(1)}`;
    if (num[1] === "I" || num[1] === "N") {
      const oldZero = this.f.zero;
      this.f.zero = false;
      if (num[1] === "N" && !this.f.space && !this.f.plus) num = num.slice(1);
      this.pad(num);
      this.f.zero = oldZero;
      return;
    }
    if (this.f.sharp) {
      let digits = 0;
      if (verb === "v" || fmt === "g" || fmt === "G") digits = prec === -1 ? 6 : prec;
      let tail = "";
      let body = num;
      const ePos = body.search(/[eE]/);
      if (ePos >= 0) {
        tail = body.slice(ePos);
        body = body.slice(0, ePos);
      }
      let sawNonzero = false;
      for (let i = 1; i < body.length; i++) {
        const c = body[i]!;
        if (c === ".") continue;
        if (c !== "0") sawNonzero = true;
        if (sawNonzero) digits--;
      }
      if (!body.includes(".")) {
        if (body.length === 2 && body[1] === "0") digits--;
        body += ".";
      }
      if (digits > 0) body += "0".repeat(digits);
      num = body + tail;
    }
    if (this.f.plus || num[0] !== "+") {
      if (this.f.zero && !this.f.minus && this.f.widPresent && this.f.wid > num.length) {
        this.buf += num[0] + "0".repeat(this.f.wid - num.length) + num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  fmtString(s: string, verb: string, arg: GoValue): void {
    switch (verb) {
      case "v":
        if (this.f.sharpV) this.fmtQ(s);
        else this.fmtS(s);
        return;
      case "s":
        this.fmtS(s);
        return;
      case "x":
        this.fmtSx(s, LDIGITS);
        return;
      case "X":
        this.fmtSx(s, UDIGITS);
        return;
      case "q":
        this.fmtQ(s);
        return;
      default:
        this.badVerb(verb, arg);
    }
  }

  private truncate(s: string): string {
    if (!this.f.precPresent) return s;
    const rs = [...s];
    return rs.length > this.f.prec ? rs.slice(0, this.f.prec).join("") : s;
  }

  private fmtS(s: string): void {
    this.pad(this.truncate(s), false);
  }

  private fmtSx(s: string, digits: string): void {
    let bytes = utf8(s);
    if (this.f.precPresent && this.f.prec < bytes.length) bytes = bytes.subarray(0, this.f.prec);
    let out = "";
    bytes.forEach((b, i) => {
      if (this.f.space && i > 0) out += " ";
      if (this.f.sharp && (this.f.space || i === 0)) out += digits === UDIGITS ? "0X" : "0x";
      out += digits[b >> 4]! + digits[b & 15]!;
    });
    this.pad(out, false);
  }

  private fmtQ(s: string): void {
    const t = this.truncate(s);
    if (this.f.sharp && canBackquote(t)) this.pad(`\`${t}\``, false);
    else this.pad(quote(t, this.f.plus), false);
  }

  // -------- values

  private checkSize(): void {
    if (this.buf.length > MAX_STRING)
      throw new LimitError(`formatted value too large (more than ${MAX_STRING} characters)`);
  }

  badVerb(verb: string, arg: GoValue): void {
    this.buf += `%!${verb}(`;
    if (arg.k === "nil" || arg.k === "invalid") this.buf += "<nil>";
    else {
      this.buf += `${typeName(arg)}=`;
      this.printArg(arg, "v");
    }
    this.buf += ")";
  }

  printArg(arg: GoValue, verb: string): void {
    if (arg.k === "nil" || arg.k === "invalid") {
      if (verb === "T" || verb === "v") this.pad("<nil>", false);
      else this.badVerb(verb, arg);
      return;
    }
    if (verb === "T") {
      this.fmtS(typeName(arg));
      return;
    }
    this.printValue(arg, verb, 0);
  }

  printValue(v: GoValue, verb: string, depth: number): void {
    switch (v.k) {
      case "invalid":
      case "nil":
        if (depth === 0) this.buf += "<invalid reflect.Value>";
        else if (this.f.sharpV) this.buf += "interface {}(nil)";
        else this.buf += "<nil>";
        return;
      case "bool":
        this.fmtBool(v.v, verb, v);
        return;
      case "int":
        this.fmtInteger(v.v, !isUnsigned(v.t), verb, v);
        return;
      case "float":
        this.fmtFloat(v.v, verb, v);
        return;
      case "string":
        this.fmtString(v.v, verb, v);
        return;
      case "semver":
        if (this.f.sharpV) {
          this.buf += `&semver.Version{major:0x${v.ver.major.toString(16)}, minor:0x${v.ver.minor.toString(16)}, patch:0x${v.ver.patch.toString(16)}, pre:${quote(v.ver.pre)}, metadata:${quote(v.ver.metadata)}, original:${quote(v.ver.original)}}`;
          return;
        }
        if ("vsxXq".includes(verb)) {
          // *semver.Version is a fmt.Stringer.
          this.fmtString(v.ver.toString(), verb, v);
          return;
        }
        if (depth > 0) {
          this.buf += "0xc000010000";
          return;
        }
        this.buf += "&{";
        [
          { k: "int", t: "uint64", v: v.ver.major } as GoValue,
          { k: "int", t: "uint64", v: v.ver.minor } as GoValue,
          { k: "int", t: "uint64", v: v.ver.patch } as GoValue,
          { k: "string", v: v.ver.pre } as GoValue,
          { k: "string", v: v.ver.metadata } as GoValue,
          { k: "string", v: v.ver.original } as GoValue,
        ].forEach((field, i) => {
          if (i > 0) this.buf += " ";
          this.printValue(field, verb, depth + 1);
        });
        this.buf += "}";
        return;
      case "map": {
        if (this.f.sharpV) {
          if (v.isNil) {
            this.buf += `map[string]${v.elem}(nil)`;
            return;
          }
          this.buf += `map[string]${v.elem}{`;
        } else this.buf += "map[";
        sortedKeys(v.entries).forEach((key, i) => {
          this.checkSize();
          if (i > 0) this.buf += this.f.sharpV ? ", " : " ";
          this.printValue({ k: "string", v: key }, verb, depth + 1);
          this.buf += ":";
          this.printValue(v.entries.get(key)!, verb, depth + 1);
        });
        this.buf += this.f.sharpV ? "}" : "]";
        return;
      }
      case "slice":
        if (this.f.sharpV) {
          if (v.isNil) {
            this.buf += `[]${v.elem}(nil)`;
            return;
          }
          this.buf += `[]${v.elem}{`;
          v.items.forEach((item, i) => {
            if (i > 0) this.buf += ", ";
            this.printValue(item, verb, depth + 1);
          });
          this.buf += "}";
          return;
        }
        this.buf += "[";
        v.items.forEach((item, i) => {
          this.checkSize();
          if (i > 0) this.buf += " ";
          this.printValue(item, verb, depth + 1);
        });
        this.buf += "]";
        return;
    }
  }
}

function printArgTo(p: Printer, arg: GoValue, verb: string): void {
  p.printArg(arg, verb);
}

/** fmt.Sprint: spaces between operands when neither is a string. */
export function sprint(args: readonly GoValue[]): string {
  const p = new Printer();
  let prevString = false;
  args.forEach((arg, i) => {
    const isString = arg.k === "string";
    if (i > 0 && !isString && !prevString) p.buf += " ";
    printArgTo(p, arg, "v");
    prevString = isString;
  });
  return p.buf;
}

/** fmt.Sprintln: spaces between all operands and a final newline. */
export function sprintln(args: readonly GoValue[]): string {
  const p = new Printer();
  args.forEach((arg, i) => {
    if (i > 0) p.buf += " ";
    printArgTo(p, arg, "v");
  });
  return `${p.buf}\n`;
}

/** fmt.Sprint of a single value: what a template action prints. */
export const formatValue = (v: GoValue): string => sprint([v]);

function parsenum(s: string, start: number, end: number): { num: number; isnum: boolean; next: number } {
  if (start >= end) return { num: 0, isnum: false, next: end };
  let num = 0;
  let isnum = false;
  let i = start;
  for (; i < end && s[i]! >= "0" && s[i]! <= "9"; i++) {
    if (tooLarge(num)) return { num: 0, isnum: false, next: end };
    num = num * 10 + (s.charCodeAt(i) - 48);
    isnum = true;
  }
  return { num, isnum, next: i };
}

function intFromArg(a: readonly GoValue[], argNum: number): { num: number; isInt: boolean; next: number } {
  let num = 0;
  let isInt = false;
  let next = argNum;
  if (argNum < a.length) {
    const v = a[argNum]!;
    if (v.k === "int") {
      const n = isUnsigned(v.t) ? BigInt.asUintN(64, v.v) : v.v;
      if (n >= -(1n << 63n) && n < 1n << 63n) {
        num = Number(n);
        isInt = true;
      }
    }
    next = argNum + 1;
    if (tooLarge(num)) {
      num = 0;
      isInt = false;
    }
  }
  return { num, isInt, next };
}

/** fmt.Sprintf. */
export function sprintf(format: string, a: readonly GoValue[]): string {
  const p = new Printer();
  const end = format.length;
  let argNum = 0;
  let afterIndex = false;
  let reordered = false;
  let goodArgNum = true;

  const argNumber = (i: number): { argNum: number; i: number; found: boolean } => {
    if (end <= i || format[i] !== "[") return { argNum, i, found: false };
    reordered = true;
    // parseArgNumber
    let index = 0;
    let wid = 1;
    let ok = false;
    const rest = format.slice(i);
    if (rest.length >= 3) {
      for (let j = 1; j < rest.length; j++) {
        if (rest[j] === "]") {
          const pn = parsenum(rest, 1, j);
          if (!pn.isnum || pn.next !== j) {
            wid = j + 1;
            ok = false;
          } else {
            index = pn.num - 1;
            wid = j + 1;
            ok = true;
          }
          break;
        }
      }
    }
    if (ok && index >= 0 && index < a.length) return { argNum: index, i: i + wid, found: true };
    goodArgNum = false;
    return { argNum, i: i + wid, found: ok };
  };

  let i = 0;
  formatLoop: while (i < end) {
    goodArgNum = true;
    const lasti = i;
    while (i < end && format[i] !== "%") i++;
    if (i > lasti) p.buf += format.slice(lasti, i);
    if (i >= end) break;
    i++;
    p.f = noFlags();
    simple: for (; i < end; i++) {
      const c = format[i]!;
      switch (c) {
        case "#":
          p.f.sharp = true;
          break;
        case "0":
          p.f.zero = !p.f.minus;
          break;
        case "+":
          p.f.plus = true;
          break;
        case "-":
          p.f.minus = true;
          p.f.zero = false;
          break;
        case " ":
          p.f.space = true;
          break;
        default:
          if (c >= "a" && c <= "z" && argNum < a.length) {
            if (c === "v") {
              p.f.sharpV = p.f.sharp;
              p.f.sharp = false;
              p.f.plusV = p.f.plus;
              p.f.plus = false;
            }
            p.printArg(a[argNum]!, c);
            argNum++;
            i++;
            continue formatLoop;
          }
          break simple;
      }
    }

    let r = argNumber(i);
    argNum = r.argNum;
    i = r.i;
    afterIndex = r.found;

    if (i < end && format[i] === "*") {
      i++;
      const w = intFromArg(a, argNum);
      p.f.wid = w.num;
      p.f.widPresent = w.isInt;
      argNum = w.next;
      if (!p.f.widPresent) p.buf += "%!(BADWIDTH)";
      if (p.f.wid < 0) {
        p.f.wid = -p.f.wid;
        p.f.minus = true;
        p.f.zero = false;
      }
      afterIndex = false;
    } else {
      const n = parsenum(format, i, end);
      p.f.wid = n.num;
      p.f.widPresent = n.isnum;
      i = n.next;
      if (afterIndex && p.f.widPresent) goodArgNum = false;
    }

    if (i + 1 < end && format[i] === ".") {
      i++;
      if (afterIndex) goodArgNum = false;
      r = argNumber(i);
      argNum = r.argNum;
      i = r.i;
      afterIndex = r.found;
      if (i < end && format[i] === "*") {
        i++;
        const w = intFromArg(a, argNum);
        p.f.prec = w.num;
        p.f.precPresent = w.isInt;
        argNum = w.next;
        if (p.f.prec < 0) {
          p.f.prec = 0;
          p.f.precPresent = false;
        }
        if (!p.f.precPresent) p.buf += "%!(BADPREC)";
        afterIndex = false;
      } else {
        const n = parsenum(format, i, end);
        p.f.prec = n.num;
        p.f.precPresent = n.isnum;
        i = n.next;
        if (!p.f.precPresent) {
          p.f.prec = 0;
          p.f.precPresent = true;
        }
      }
    }

    if (!afterIndex) {
      r = argNumber(i);
      argNum = r.argNum;
      i = r.i;
      afterIndex = r.found;
    }

    if (i >= end) {
      p.buf += "%!(NOVERB)";
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === "%") {
      p.buf += "%";
    } else if (!goodArgNum) {
      p.buf += `%!${verb}(BADINDEX)`;
    } else if (argNum >= a.length) {
      p.buf += `%!${verb}(MISSING)`;
    } else {
      if (verb === "v") {
        p.f.sharpV = p.f.sharp;
        p.f.sharp = false;
        p.f.plusV = p.f.plus;
        p.f.plus = false;
      }
      p.printArg(a[argNum]!, verb === "w" ? "v" : verb);
      argNum++;
    }
  }

  if (!reordered && argNum < a.length) {
    p.f = noFlags();
    p.buf += "%!(EXTRA ";
    a.slice(argNum).forEach((arg, k) => {
      if (k > 0) p.buf += ", ";
      if (arg.k === "nil" || arg.k === "invalid") p.buf += "<nil>";
      else {
        p.buf += `${typeName(arg)}=`;
        p.printArg(arg, "v");
      }
    });
    p.buf += ")";
  }
  return p.buf;
}
