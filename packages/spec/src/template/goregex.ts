/**
 * Go `regexp` (RE2 syntax, Perl flags), matched in linear time. Two parts:
 *
 * - our own parser checks the pattern against Go's grammar and reports what Go rejects
 *   (backreferences, lookaround, `\Z`, nested repetition, counts over 1000) with Go's error text,
 *   and collects the capture names (Go allows names other engines do not);
 * - matching runs on `re2js`, a port of RE2/J (itself a port of Go's `regexp`): automata, no
 *   backtracking, so `(a+)+$` on a long input answers at once instead of never, with Go's
 *   leftmost-first semantics (`.` excludes only `\n`, `^`/`$` are text anchors unless `(?m)`,
 *   `\s` is ASCII, POSIX classes, `\Q…\E`, inline flags, `(?U)`).
 *
 * Matching loops (find-all, replace-all, split) follow Go's handling of empty matches, and
 * replacement templates are expanded like `Regexp.Expand`. Offsets are UTF-16 units of the JS
 * string (Go counts bytes), which is the same thing for slicing the subject.
 */
import { type Matcher, RE2JS, RE2JSException } from "re2js";
import { TalosExtError } from "../errors.ts";

/** A compiled Go regular expression (from {@link compileGoRegex}). */
export interface GoRegexp {
  /** The Go pattern. */
  readonly pattern: string;
  /** Number of capture groups. */
  readonly numSubexp: number;
  /** Name of each group (index 0 is the whole match, ""), "" for unnamed groups. */
  readonly subexpNames: readonly string[];
  /** @internal The linear-time matcher. */
  readonly engine: RE2JS;
}

/** A Go regexp syntax error; `message` is Go's text ("error parsing regexp: …"). */
export class GoRegexSyntaxError extends Error {}

function syntaxError(code: string, expr: string): GoRegexSyntaxError {
  return new GoRegexSyntaxError(`error parsing regexp: ${code}: \`${expr}\``);
}

const MAX_DEPTH = 500;
/** `{n}`, `{n,}`, `{n,m}` without leading zeros; anything else makes `{` a literal. */
const REPEAT = /\{(0|[1-9][0-9]*)(,(0|[1-9][0-9]*)?)?\}/y;
const MAX_REPEAT = 1000;

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  U: boolean;
}

type Range = [number, number];

const MAX_RUNE = 0x10ffff;

const PERL_CLASSES: Record<string, Range[]> = {
  d: [[0x30, 0x39]],
  s: [
    [0x09, 0x0a],
    [0x0c, 0x0d],
    [0x20, 0x20],
  ],
  w: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
};

const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

function complement(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

const cp = (c: number) => `\\u{${c.toString(16)}}`;

function emitRanges(ranges: readonly Range[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? cp(lo) : `${cp(lo)}-${cp(hi)}`)).join("");
}

function emitLiteral(c: number): string {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) {
    return String.fromCharCode(c);
  }
  return cp(c);
}

const GENERAL_CATEGORIES = new Set(
  "C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs".split(
    " ",
  ),
);

const isWordChar = (c: string) => /^[A-Za-z0-9_]$/.test(c);

class Translator {
  private i = 0;
  private depth = 0;
  readonly names: string[] = [""];
  /**
   * Offsets of unescaped `[` taken literally inside a class (`[[:]` is `[` and `:` in Go). re2js
   * reads `[:` there as the start of a POSIX class and rejects it, so the matcher gets `\[`.
   */
  readonly literalBrackets: number[] = [];
  private readonly nameSet = new Set<string>();

  private readonly src: string;

  constructor(src: string) {
    this.src = src;
  }

  translate(): string {
    const out = this.alternation({ i: false, m: false, s: false, U: false });
    if (this.i < this.src.length) {
      // Only an unmatched ")" stops the top level early.
      throw syntaxError("unexpected )", this.src);
    }
    return out;
  }

  /**
   * Views of the pattern relative to this.i, without copying the rest of it (a slice per atom
   * would make parsing quadratic in the pattern's length).
   */
  private window() {
    const at = this.i;
    const src = this.src;
    return {
      ch: (k: number): string | undefined => src[at + k],
      starts: (prefix: string) => src.startsWith(prefix, at),
      find: (needle: string, from = 0) => {
        const k = src.indexOf(needle, at + from);
        return k < 0 ? -1 : k - at;
      },
      from: (a: number, b?: number) => src.slice(at + a, b === undefined ? undefined : at + b),
      code: (k: number) => src.charCodeAt(at + k),
      point: (k: number) => src.codePointAt(at + k),
    };
  }

  private peek(off = 0): string | undefined {
    return this.src[this.i + off];
  }

  /** The next code point (Go works on runes). */
  private nextRune(): number {
    const c = this.src.codePointAt(this.i);
    if (c === undefined) throw syntaxError("missing argument to repetition operator", "");
    if (c >= 0xd800 && c <= 0xdfff) throw syntaxError("invalid UTF-8", this.src.slice(this.i));
    this.i += c > 0xffff ? 2 : 1;
    return c;
  }

  /** Parses alternatives until ")" or the end; flags set inline persist to the group's end. */
  private alternation(outer: Flags): string {
    if (++this.depth > MAX_DEPTH) throw syntaxError("expression nests too deeply", this.src);
    const flags = { ...outer };
    const alternatives: string[] = [];
    let current = "";
    // The last atom stays separate until we know whether a repetition operator follows it.
    let last: string | null = null;
    let lastRepeat = "";
    while (this.i < this.src.length) {
      const c = this.src[this.i]!;
      if (c === ")") break;
      if (c === "|") {
        this.i++;
        current += last ?? "";
        alternatives.push(current);
        current = "";
        last = null;
        lastRepeat = "";
        continue;
      }
      if (c === "*" || c === "+" || c === "?" || (c === "{" && this.repeatAhead())) {
        const opStart = this.i;
        const { min, max } = this.parseRepeatOp();
        let lazy = false;
        if (this.peek() === "?") {
          this.i++;
          lazy = true;
        }
        const opText = this.src.slice(opStart, this.i);
        if (last === null) throw syntaxError("missing argument to repetition operator", opText);
        if (lastRepeat !== "") throw syntaxError("invalid nested repetition operator", lastRepeat + opText);
        if (flags.U) lazy = !lazy;
        let q: string;
        if (max === min) q = `{${min}}`;
        else if (max === -1) q = min === 0 ? "*" : min === 1 ? "+" : `{${min},}`;
        else q = min === 0 && max === 1 ? "?" : `{${min},${max}}`;
        last = `(?:${last})${q}${lazy ? "?" : ""}`;
        lastRepeat = opText;
        continue;
      }
      const piece = this.atom(flags);
      if (piece === null) continue; // (?flags) or an empty \Q\E: nothing to emit
      current += last ?? "";
      lastRepeat = "";
      if (typeof piece === "string") {
        last = piece;
      } else {
        current += piece.before;
        last = piece.last;
      }
    }
    current += last ?? "";
    alternatives.push(current);
    this.depth--;
    return alternatives.join("|");
  }

  private repeatAhead(): boolean {
    REPEAT.lastIndex = this.i;
    return REPEAT.test(this.src);
  }

  private parseRepeatOp(): { min: number; max: number } {
    const c = this.src[this.i]!;
    if (c === "*") {
      this.i++;
      return { min: 0, max: -1 };
    }
    if (c === "+") {
      this.i++;
      return { min: 1, max: -1 };
    }
    if (c === "?") {
      this.i++;
      return { min: 0, max: 1 };
    }
    REPEAT.lastIndex = this.i;
    const m = REPEAT.exec(this.src)!;
    const text = m[0];
    this.i += text.length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === undefined ? -1 : Number(m[3]);
    if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && min > max)) {
      throw syntaxError("invalid repeat count", text);
    }
    return { min, max };
  }

  private wrapFold(text: string, flags: Flags): string {
    return flags.i ? `(?i:${text})` : text;
  }

  /**
   * One atom; null for constructs that only change flags or emit nothing; `{before, last}` when
   * several atoms come at once (\Q…\E), of which only the last may take a repetition operator.
   */
  private atom(flags: Flags): string | { before: string; last: string } | null {
    const c = this.src[this.i]!;
    switch (c) {
      case "(":
        return this.group(flags);
      case "[":
        return this.wrapFold(this.charClass(), flags);
      case ".":
        this.i++;
        return flags.s ? "[^]" : "[^\\n]";
      case "^":
        this.i++;
        return flags.m ? "(?<=^|\\n)" : "^";
      case "$":
        this.i++;
        return flags.m ? "(?=\\n|$)" : "$";
      case "\\":
        return this.escapeAtom(flags);
      default: {
        const r = this.nextRune();
        return this.wrapFold(emitLiteral(r), flags);
      }
    }
  }

  private group(flags: Flags): string | null {
    const { ch, starts, find, from } = this.window();
    if (starts("(?")) {
      // Named capture: (?P<name>re) or (?<name>re).
      if (starts("(?P<") || (starts("(?<") && ch(3) !== "=" && ch(3) !== "!")) {
        const begin = starts("(?P<") ? 4 : 3;
        const end = find(">");
        if (end < 0) throw syntaxError("invalid named capture", from(0));
        const name = from(begin, end);
        if (name === "" || ![...name].every(isWordChar)) {
          throw syntaxError("invalid named capture", from(0, end + 1));
        }
        if (this.nameSet.has(name)) throw syntaxError("duplicate capture group name", name);
        this.i += end + 1;
        this.names.push(name);
        this.nameSet.add(name);
        return `(${this.groupBody(flags)})`;
      }
      if (starts("(?<")) throw syntaxError("invalid named capture", from(0));
      // Flags: (?flags) or (?flags:re).
      let j = 2;
      const next = { ...flags };
      let sign = 1;
      let sawFlag = false;
      for (;;) {
        const f = ch(j);
        // Go: a flag group cut off by the end of the pattern is a bad Perl op, not a missing ")".
        if (f === undefined) throw syntaxError("invalid or unsupported Perl syntax", from(0));
        j++;
        if (f === "i" || f === "m" || f === "s" || f === "U") {
          next[f] = sign > 0;
          sawFlag = true;
          continue;
        }
        if (f === "-" && sign > 0) {
          sign = -1;
          sawFlag = false;
          continue;
        }
        if ((f === ":" || f === ")") && !(sign < 0 && !sawFlag)) {
          this.i += j;
          if (f === ")") {
            Object.assign(flags, next);
            return null;
          }
          return `(?:${this.groupBody(next)})`;
        }
        throw syntaxError("invalid or unsupported Perl syntax", from(0, j));
      }
    }
    this.i++;
    this.names.push("");
    return `(${this.groupBody(flags)})`;
  }

  private groupBody(flags: Flags): string {
    const body = this.alternation(flags);
    if (this.src[this.i] !== ")") throw syntaxError("missing closing )", this.src);
    this.i++;
    return body;
  }

  private escapeAtom(flags: Flags): string | { before: string; last: string } | null {
    const e = this.src[this.i + 1];
    if (e === undefined) throw syntaxError("trailing backslash at end of expression", "");
    switch (e) {
      case "A":
        this.i += 2;
        return "^";
      case "z":
        this.i += 2;
        return "$";
      case "b":
        this.i += 2;
        return flags.i ? "(?i:\\b)" : "\\b";
      case "B":
        this.i += 2;
        return flags.i ? "(?i:\\B)" : "\\B";
      case "Q": {
        this.i += 2;
        const end = this.src.indexOf("\\E", this.i);
        const lit = end < 0 ? this.src.slice(this.i) : this.src.slice(this.i, end);
        this.i = end < 0 ? this.src.length : end + 2;
        if (lit === "") return null;
        // Each literal rune is its own atom so that a following quantifier applies to the last one.
        const cps = [...lit].map((ch) => ch.codePointAt(0)!);
        if (cps.some((r) => r >= 0xd800 && r <= 0xdfff)) throw syntaxError("invalid UTF-8", lit);
        const before = cps
          .slice(0, -1)
          .map((r) => this.wrapFold(emitLiteral(r), flags))
          .join("");
        return { before, last: this.wrapFold(emitLiteral(cps[cps.length - 1]!), flags) };
      }
      case "d":
      case "s":
      case "w":
      case "D":
      case "S":
      case "W": {
        this.i += 2;
        const ranges = PERL_CLASSES[e.toLowerCase()]!;
        const set = e === e.toLowerCase() ? ranges : complement(ranges);
        return this.wrapFold(`[${emitRanges(set)}]`, flags);
      }
      case "p":
      case "P": {
        const { text } = this.unicodeClass();
        return this.wrapFold(`[${text}]`, flags);
      }
    }
    const r = this.escapeRune();
    return this.wrapFold(emitLiteral(r), flags);
  }

  /** Parses \pX, \p{Name}, \PX, \P{^Name} at this.i; returns a JS class body item. */
  private unicodeClass(): { text: string } {
    const start = this.i;
    const negated = this.src[this.i + 1] === "P";
    this.i += 2;
    let name: string;
    if (this.src[this.i] === "{") {
      const end = this.src.indexOf("}", this.i);
      if (end < 0) throw syntaxError("invalid character class range", this.src.slice(start));
      name = this.src.slice(this.i + 1, end);
      this.i = end + 1;
    } else {
      const c = this.src.codePointAt(this.i);
      if (c === undefined) throw syntaxError("invalid character class range", this.src.slice(start));
      name = String.fromCodePoint(c);
      this.i += name.length;
    }
    let neg = negated;
    if (name.startsWith("^")) {
      neg = !neg;
      name = name.slice(1);
    }
    const expr = this.src.slice(start, this.i);
    let body: string;
    if (name === "Any") {
      return { text: neg ? "" : "\\u{0}-\\u{10ffff}" };
    }
    if (GENERAL_CATEGORIES.has(name)) body = name;
    else body = `Script=${name}`;
    const text = `\\${neg ? "P" : "p"}{${body}}`;
    try {
      new RegExp(text, "u");
    } catch {
      throw syntaxError("invalid character class range", expr);
    }
    return { text };
  }

  /** A single escaped rune at this.i (\\n, \\x41, \\x{263a}, \\101, \\.); errors like Go on anything else. */
  private escapeRune(): number {
    const { ch, from, code: codeAt, point } = this.window();
    const e = ch(1)!;
    const code = e.charCodeAt(0);
    switch (e) {
      case "a":
        this.i += 2;
        return 7;
      case "f":
        this.i += 2;
        return 12;
      case "t":
        this.i += 2;
        return 9;
      case "n":
        this.i += 2;
        return 10;
      case "r":
        this.i += 2;
        return 13;
      case "v":
        this.i += 2;
        return 11;
      case "x": {
        if (ch(2) === "{") {
          // As Go: the error shows the escape up to the first character that makes it wrong.
          let value = 0;
          for (let k = 3; ; k++) {
            const d = ch(k);
            if (d === undefined) throw syntaxError("invalid escape sequence", from(0));
            if (d === "}" && k > 3) {
              this.i += k + 1;
              return value;
            }
            if (!/^[0-9A-Fa-f]$/.test(d)) throw syntaxError("invalid escape sequence", from(0, k + 1));
            value = value * 16 + Number.parseInt(d, 16);
            if (value > MAX_RUNE) throw syntaxError("invalid escape sequence", from(0, k + 1));
          }
        }
        const hex = from(2, 4);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw syntaxError("invalid escape sequence", from(0, 4));
        this.i += 4;
        return Number.parseInt(hex, 16);
      }
    }
    if (code >= 0x31 && code <= 0x37) {
      // A single non-zero digit would be a backreference, which RE2 does not support.
      const n = ch(2);
      if (n === undefined || n < "0" || n > "7") throw syntaxError("invalid escape sequence", from(0, 2));
    }
    if (code >= 0x30 && code <= 0x37) {
      let v = code - 0x30;
      let len = 2;
      for (; len < 4; len++) {
        const d = codeAt(len) - 0x30;
        if (!(d >= 0 && d <= 7)) break;
        v = v * 8 + d;
      }
      this.i += len;
      return v;
    }
    const r = point(1)!;
    if (r < 0x80 && !/[A-Za-z0-9]/.test(e)) {
      this.i += 2;
      return r;
    }
    throw syntaxError("invalid escape sequence", from(0, 1 + String.fromCodePoint(r).length));
  }

  private charClass(): string {
    const start = this.i;
    this.i++;
    let negated = false;
    if (this.src[this.i] === "^") {
      negated = true;
      this.i++;
    }
    const parts: string[] = [];
    let first = true;
    const missing = () => syntaxError("missing closing ]", this.src.slice(start));
    for (;;) {
      if (this.i >= this.src.length) throw missing();
      const c = this.src[this.i]!;
      if (c === "]" && !first) break;
      first = false;
      const { ch, starts, find, from } = this.window();
      if (starts("[:")) {
        const end = find(":]", 2);
        if (end >= 0) {
          const name = from(2, end);
          const neg = name.startsWith("^");
          const key = neg ? name.slice(1) : name;
          const ranges = Object.hasOwn(POSIX_CLASSES, key) ? POSIX_CLASSES[key] : undefined;
          if (!ranges) throw syntaxError("invalid character class range", from(0, end + 2));
          parts.push(emitRanges(neg ? complement(ranges) : ranges));
          this.i += end + 2;
          continue;
        }
      }
      if (c === "\\" && (ch(1) === "p" || ch(1) === "P")) {
        parts.push(this.unicodeClass().text);
        continue;
      }
      const next = ch(1);
      if (c === "\\" && next !== undefined && "dswDSW".includes(next)) {
        const ranges = PERL_CLASSES[next.toLowerCase()]!;
        parts.push(emitRanges(next === next.toLowerCase() ? ranges : complement(ranges)));
        this.i += 2;
        continue;
      }
      const rangeStart = this.i;
      const lo = this.classChar(missing);
      let hi = lo;
      if (this.src[this.i] === "-" && this.src[this.i + 1] !== undefined && this.src[this.i + 1] !== "]") {
        this.i++;
        hi = this.classChar(missing);
        if (hi < lo) throw syntaxError("invalid character class range", this.src.slice(rangeStart, this.i));
      }
      parts.push(emitRanges([[lo, hi]]));
    }
    this.i++; // ]
    const body = parts.join("");
    if (body === "") return negated ? "[^]" : "[]";
    return `[${negated ? "^" : ""}${body}]`;
  }

  private classChar(missing: () => GoRegexSyntaxError): number {
    if (this.i >= this.src.length) throw missing();
    if (this.src[this.i] === "[") this.literalBrackets.push(this.i);
    if (this.src[this.i] === "\\") {
      if (this.i + 1 >= this.src.length) throw syntaxError("trailing backslash at end of expression", "");
      return this.escapeRune();
    }
    return this.nextRune();
  }
}

const cache = new Map<string, GoRegexp | GoRegexSyntaxError>();
const CACHE_LIMIT = 500;

function compileUncached(pattern: string): GoRegexp {
  // Our parser decides what Go accepts and with which message; re2js only matches.
  const t = new Translator(pattern);
  t.translate();
  const parts: string[] = [];
  let last = 0;
  for (const at of t.literalBrackets) {
    parts.push(pattern.slice(last, at), "\\");
    last = at;
  }
  parts.push(pattern.slice(last));
  const source = parts.join("");
  let engine: RE2JS;
  try {
    engine = RE2JS.compile(source);
  } catch (e) {
    if (e instanceof RE2JSException) throw new GoRegexSyntaxError(e.message);
    throw e;
  }
  return { pattern, numSubexp: t.names.length - 1, subexpNames: t.names, engine };
}

/**
 * Compiles a Go (RE2) regular expression. Throws GoRegexSyntaxError with Go's message when Go
 * would reject the pattern.
 */
export function compileGoRegexRaw(pattern: string): GoRegexp {
  const hit = cache.get(pattern);
  if (hit instanceof GoRegexSyntaxError) throw hit;
  if (hit) return hit;
  let result: GoRegexp | GoRegexSyntaxError;
  try {
    result = compileUncached(pattern);
  } catch (e) {
    if (!(e instanceof GoRegexSyntaxError)) throw e;
    result = e;
  }
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(pattern, result);
  if (result instanceof GoRegexSyntaxError) throw result;
  return result;
}

/**
 * Compiles a Go (RE2) regular expression for use on its own; a pattern Go rejects throws a
 * TalosExtError (code TEMPLATE_EXEC) with Go's "error parsing regexp: …" message.
 */
export function compileGoRegex(pattern: string): GoRegexp {
  try {
    return compileGoRegexRaw(pattern);
  } catch (e) {
    if (e instanceof GoRegexSyntaxError) {
      throw new TalosExtError({
        code: "TEMPLATE_EXEC",
        message: e.message,
        hint: "use Go RE2 syntax: no backreferences or lookaround; escape a literal backslash as \\\\ inside a template string",
      });
    }
    throw e;
  }
}

// ---------------------------------------------------------------- matching

/** A match: [start, end] of the whole match and every group (-1 when a group did not take part). */
export type MatchIndex = number[];

/** The leftmost-first match starting the search at `pos` (context before `pos` counts for `^`, `\b`). */
function execAt(re: GoRegexp, m: Matcher, pos: number): MatchIndex | null {
  if (!m.find(pos)) return null;
  const out: number[] = [m.start(0), m.end(0)];
  for (let g = 1; g <= re.numSubexp; g++) out.push(m.start(g), m.end(g));
  return out;
}

/** Width of the code point at `pos` (Go advances by runes). */
function runeWidth(s: string, pos: number): number {
  const c = s.charCodeAt(pos);
  if (c >= 0xd800 && c <= 0xdbff && pos + 1 < s.length) {
    const d = s.charCodeAt(pos + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return pos < s.length ? 1 : 0;
}

/** Go's allMatches: successive non-overlapping matches; an empty match right after a match is skipped. */
export function findAllIndex(re: GoRegexp, s: string, n: number): MatchIndex[] {
  const matcher = re.engine.matcher(s);
  const limit = n < 0 ? s.length + 1 : n;
  const out: MatchIndex[] = [];
  let pos = 0;
  let prevMatchEnd = -1;
  while (out.length < limit && pos <= s.length) {
    const m = execAt(re, matcher, pos);
    if (!m) break;
    let accept = true;
    if (m[1] === pos) {
      if (m[0] === prevMatchEnd) accept = false;
      const w = runeWidth(s, pos);
      pos += w > 0 ? w : 1;
    } else {
      pos = m[1]!;
    }
    prevMatchEnd = m[1]!;
    if (accept) out.push(m);
  }
  return out;
}

/** Go's Regexp.FindStringSubmatchIndex. */
export function findIndex(re: GoRegexp, s: string): MatchIndex | null {
  return execAt(re, re.engine.matcher(s), 0);
}

/** Go's Regexp.MatchString. */
export const matchString = (re: GoRegexp, s: string): boolean => re.engine.matcher(s).find(0);

/** Go's Regexp.replaceAll loop; `repl` appends the replacement for one match. */
export function replaceAllWith(re: GoRegexp, src: string, repl: (m: MatchIndex) => string): string {
  const matcher = re.engine.matcher(src);
  let lastMatchEnd = 0;
  let searchPos = 0;
  let out = "";
  while (searchPos <= src.length) {
    const a = execAt(re, matcher, searchPos);
    if (!a) break;
    out += src.slice(lastMatchEnd, a[0]);
    if (a[1]! > lastMatchEnd || a[0] === 0) out += repl(a);
    lastMatchEnd = a[1]!;
    const width = runeWidth(src, searchPos);
    if (searchPos + width > a[1]!) searchPos += width;
    else if (searchPos + 1 > a[1]!) searchPos++;
    else searchPos = a[1]!;
  }
  return out + src.slice(lastMatchEnd);
}

const isNameRune = (ch: string) => /^[\p{L}\p{Nd}_]$/u.test(ch);

/**
 * Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`; `$$` is a literal `$`; the longest run of
 * letters, digits and underscores is the name (so `$1x` is the group named "1x"); a reference to
 * a group that does not exist or did not match expands to nothing; a malformed `$` is literal.
 * `groups[i]` is the text of group i (undefined if it did not take part); `names[i]` its name.
 */
export function expandGoReplacement(
  template: string,
  groups: readonly (string | undefined)[],
  names: readonly string[] = [],
): string {
  let out = "";
  let t = template;
  for (;;) {
    const d = t.indexOf("$");
    if (d < 0) break;
    out += t.slice(0, d);
    t = t.slice(d + 1);
    if (t.startsWith("$")) {
      out += "$";
      t = t.slice(1);
      continue;
    }
    const ex = extractName(t);
    if (!ex) {
      out += "$";
      continue;
    }
    t = ex.rest;
    if (ex.num >= 0) {
      const g = groups[ex.num];
      if (g !== undefined) out += g;
    } else {
      for (let i = 0; i < names.length; i++) {
        if (names[i] === ex.name && groups[i] !== undefined) {
          out += groups[i];
          break;
        }
      }
    }
  }
  return out + t;
}

function extractName(str: string): { name: string; num: number; rest: string } | null {
  let s = str;
  if (s === "") return null;
  let brace = false;
  if (s[0] === "{") {
    brace = true;
    s = s.slice(1);
  }
  let i = 0;
  for (const ch of s) {
    if (!isNameRune(ch)) break;
    i += ch.length;
  }
  if (i === 0) return null;
  const name = s.slice(0, i);
  if (brace) {
    if (i >= s.length || s[i] !== "}") return null;
    i++;
  }
  let num = 0;
  for (const c of name) {
    if (c < "0" || c > "9" || num >= 1e8) {
      num = -1;
      break;
    }
    num = num * 10 + (c.charCodeAt(0) - 48);
  }
  if (name[0] === "0" && name.length > 1) num = -1;
  return { name, num, rest: s.slice(i) };
}

function groupTexts(src: string, m: MatchIndex): (string | undefined)[] {
  const out: (string | undefined)[] = [];
  for (let g = 0; g * 2 < m.length; g++) {
    const a = m[2 * g]!;
    out.push(a < 0 ? undefined : src.slice(a, m[2 * g + 1]));
  }
  return out;
}

/** Go's Regexp.ReplaceAllString (with `$` expansion) or ReplaceAllLiteralString. */
export function replaceAllString(re: GoRegexp, src: string, repl: string, literal = false): string {
  if (literal) return replaceAllWith(re, src, () => repl);
  return replaceAllWith(re, src, (m) => expandGoReplacement(repl, groupTexts(src, m), re.subexpNames));
}

/**
 * `regexReplaceAll` on its own: replaces every match of the Go regex `pattern` in `subject`,
 * expanding `$1`/`${name}` in `replacement` exactly as Go does.
 */
export function goRegexReplaceAll(pattern: string | GoRegexp, subject: string, replacement: string): string {
  const re = typeof pattern === "string" ? compileGoRegex(pattern) : pattern;
  return replaceAllString(re, subject, replacement);
}

/** Go's Regexp.FindAllString. */
export function findAllString(re: GoRegexp, s: string, n: number): string[] {
  return findAllIndex(re, s, n).map((m) => s.slice(m[0], m[1]));
}

/** Go's Regexp.Split. */
export function splitString(re: GoRegexp, s: string, n: number): string[] | null {
  if (n === 0) return null;
  if (re.pattern.length > 0 && s.length === 0) return [""];
  const matches = findAllIndex(re, s, n);
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of matches) {
    if (n > 0 && out.length === n - 1) break;
    end = m[0]!;
    if (m[1] !== 0) out.push(s.slice(beg, end));
    beg = m[1]!;
  }
  if (end !== s.length) out.push(s.slice(beg));
  return out;
}

/** regexp.QuoteMeta. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, (c) => `\\${c}`);
}
