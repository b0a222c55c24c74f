/**
 * A YAML emitter that writes what go-yaml's `Marshal` writes for the value shapes a schematic
 * has (4-space indent, block style, sequences indented under keys, no wrapping). The schematic
 * ID is the SHA-256 of these bytes, so every styling rule here is part of the ID contract
 * (reference: installer-and-upgrade.md §3.2, pinned by the vectors in the tests).
 *
 * Two dialects: `v4` (go.yaml.in/yaml/v4, the factory since Nov 2025: YAML 1.1 booleans,
 * sexagesimal numbers and `<<` single-quoted, per the reference) and `v3` (gopkg.in/yaml.v3,
 * older and self-hosted factories: those double-quoted, `<<` plain). Everything else was checked
 * to be byte-identical to yaml.v3 3.0.1 on 94 styling cases, literal blocks and nested options.
 */
import { installerError } from "../codes.ts";

/** A value the emitter can write: an ordered mapping, a sequence or a scalar. */
export type GoYamlNode =
  | { kind: "map"; entries: [string, GoYamlNode][] }
  | { kind: "seq"; items: GoYamlNode[] }
  | { kind: "str"; value: string }
  /** A scalar already in its final text (ints, bools, floats, null). */
  | { kind: "raw"; text: string };

const INDENT = 4;

// --- what a plain scalar would resolve to (go-yaml's resolve table, YAML 1.2 core schema) ---

const NON_STRING_WORDS = new Set([
  "true",
  "True",
  "TRUE",
  "false",
  "False",
  "FALSE",
  "~",
  "null",
  "Null",
  "NULL",
  ".nan",
  ".NaN",
  ".NAN",
  ".inf",
  ".Inf",
  ".INF",
  "+.inf",
  "+.Inf",
  "+.INF",
  "-.inf",
  "-.Inf",
  "-.INF",
]);
const OLD_BOOLS = new Set([
  "y",
  "Y",
  "yes",
  "Yes",
  "YES",
  "n",
  "N",
  "no",
  "No",
  "NO",
  "on",
  "On",
  "ON",
  "off",
  "Off",
  "OFF",
]);
const FLOAT_RE = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const BASE60_RE = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
// Go's strconv.ParseInt(s, 0, 64) after go-yaml drops underscores: decimal, 0x, 0o, 0b, leading-0 octal.
const INT_RES = [/^[-+]?[0-9]+$/, /^[-+]?0[xX][0-9a-fA-F]+$/, /^[-+]?0[oO][0-7]+$/, /^[-+]?0[bB][01]+$/];
const TIMESTAMP_RE =
  /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::?[0-9]{2})?))?)?$/;

/** Whether go-yaml's resolver reads `s`, written plain, as something other than a string. */
function resolvesToNonString(s: string): boolean {
  if (s === "" || NON_STRING_WORDS.has(s)) return true;
  const first = s[0] ?? "";
  if (!"+-.0123456789".includes(first)) return false;
  const plain = s.replaceAll("_", "");
  if (INT_RES.some((re) => re.test(plain))) return true;
  if (FLOAT_RE.test(plain)) return true;
  return /[0-9]/.test(first) && TIMESTAMP_RE.test(s);
}

// --- libyaml's scalar analysis (what the emitter allows for a string) ---

function isPrintable(cp: number): boolean {
  return (
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    cp === 0x85 ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

const FLOW_AND_BLOCK_FIRST = new Set([
  "#",
  ",",
  "[",
  "]",
  "{",
  "}",
  "&",
  "*",
  "!",
  "|",
  ">",
  "'",
  '"',
  "%",
  "@",
  "`",
]);

interface Analysis {
  special: boolean;
  /** Plain style is not allowed in block context. */
  noPlain: boolean;
  /** Literal block style is not allowed. */
  noBlock: boolean;
}

function analyse(s: string): Analysis {
  const cps = [...s].map((c) => c.codePointAt(0) ?? 0);
  let special = false;
  let indicators = false;
  let spaceBreak = false;
  let lineBreaks = false;
  if (s.startsWith("---") || s.startsWith("...")) indicators = true;
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i] ?? 0;
    const ch = String.fromCodePoint(c);
    const next = cps[i + 1];
    const followedByBlank = next === undefined || next === 0x20 || next === 0x09 || next === 0x0a;
    if (i === 0) {
      if (FLOW_AND_BLOCK_FIRST.has(ch)) indicators = true;
      if ((ch === "?" || ch === ":" || ch === "-") && followedByBlank) indicators = true;
    } else {
      if (ch === ":" && followedByBlank) indicators = true;
      if (ch === "#" && (cps[i - 1] === 0x20 || cps[i - 1] === 0x09 || cps[i - 1] === 0x0a))
        indicators = true;
    }
    if (!isPrintable(c) || c === 0xfeff) special = true;
    if (c === 0x0a) {
      lineBreaks = true;
      if (i > 0 && cps[i - 1] === 0x20) spaceBreak = true;
    }
  }
  const leadingSpace = cps[0] === 0x20;
  const trailingSpace = cps[cps.length - 1] === 0x20;
  const leadingBreak = cps[0] === 0x0a;
  const trailingBreak = cps[cps.length - 1] === 0x0a;
  return {
    special,
    noPlain: indicators || lineBreaks || leadingSpace || trailingSpace || leadingBreak || trailingBreak,
    noBlock: special || spaceBreak || trailingSpace,
  };
}

const ESCAPES: Record<number, string> = {
  0: "\\0",
  7: "\\a",
  8: "\\b",
  9: "\\t",
  10: "\\n",
  11: "\\v",
  12: "\\f",
  13: "\\r",
  27: "\\e",
  34: '\\"',
  92: "\\\\",
  133: "\\N",
};

function doubleQuoted(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const esc = ESCAPES[c];
    if (esc !== undefined) out += esc;
    else if (!isPrintable(c) || c === 0xfeff) {
      const hex = c.toString(16).toUpperCase();
      out +=
        c <= 0xff
          ? `\\x${hex.padStart(2, "0")}`
          : c <= 0xffff
            ? `\\u${hex.padStart(4, "0")}`
            : `\\U${hex.padStart(8, "0")}`;
    } else out += ch;
  }
  return `${out}"`;
}

const singleQuoted = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Which go-yaml writes the bytes (see the module comment). */
export type GoYamlDialect = "v4" | "v3";

// Set for the duration of one synchronous emitGoYaml call.
let dialect: GoYamlDialect = "v4";

/** A string as go-yaml writes it on one line, or `undefined` when it needs a literal block. */
function inlineScalar(s: string, where: string): string | undefined {
  // \r, NEL and the Unicode line separators are line breaks to libyaml but not to go-yaml's
  // encoder; what it then writes was not measured, so refuse rather than guess an ID.
  if (/[\r\u0085\u2028\u2029]/u.test(s)) {
    throw installerError(
      "SCHEMATIC_NOT_CANONICAL",
      `${where} contains a line separator other than \\n; its canonical form is not known offline`,
      "use \\n line endings, or create the schematic on the factory (createSchematic) and use the id it returns",
    );
  }
  const a = analyse(s);
  if (s.includes("\n")) return a.noBlock ? doubleQuoted(s) : undefined;
  if (a.special) return doubleQuoted(s);
  if (resolvesToNonString(s)) return doubleQuoted(s);
  if (OLD_BOOLS.has(s) || BASE60_RE.test(s)) return dialect === "v3" ? doubleQuoted(s) : singleQuoted(s);
  if (s === "<<") return dialect === "v3" ? s : singleQuoted(s);
  if (a.noPlain) return singleQuoted(s);
  return s;
}

/** The header (`|`, `|-`, `|+`, with an indentation digit when needed) and body lines of a literal block. */
function literal(s: string, contentIndent: number): string {
  let chomp = "";
  if (!s.endsWith("\n")) chomp = "-";
  else if (s.endsWith("\n\n") || s === "\n") chomp = "+";
  const hint = s.startsWith(" ") || s.startsWith("\n") ? String(INDENT) : "";
  const body = s.endsWith("\n") ? s.slice(0, -1) : s;
  const pad = " ".repeat(contentIndent);
  const lines = body.split("\n").map((l) => (l === "" ? "" : pad + l));
  return `|${hint}${chomp}\n${lines.join("\n")}\n`;
}

/** go-yaml's indentation step: align to the next multiple of 4 (inside a `- ` item: +2). */
const nextIndent = (indent: number) => INDENT * Math.floor((indent + INDENT) / INDENT);

const isEmptyCollection = (n: GoYamlNode) =>
  (n.kind === "map" && n.entries.length === 0) || (n.kind === "seq" && n.items.length === 0);

function emptyText(n: GoYamlNode): string {
  return n.kind === "map" ? "{}" : "[]";
}

/** Writes a value placed after `key: ` or `- `; `indent` is the indent of that key or item. */
function emitValue(node: GoYamlNode, indent: number, inSeqItem: boolean, where: string): string {
  const childIndent = inSeqItem ? indent + 2 : nextIndent(indent);
  if (node.kind === "raw") return `${node.text}\n`;
  if (node.kind === "str") {
    const inline = inlineScalar(node.value, where);
    return inline !== undefined ? `${inline}\n` : literal(node.value, childIndent);
  }
  if (isEmptyCollection(node)) return `${emptyText(node)}\n`;
  if (node.kind === "map") {
    if (inSeqItem) return emitMap(node.entries, childIndent, where, true);
    return `\n${emitMap(node.entries, childIndent, where, false)}`;
  }
  if (inSeqItem) {
    throw installerError(
      "SCHEMATIC_NOT_CANONICAL",
      `${where} holds a list inside a list; its canonical form is not known offline`,
      "create the schematic on the factory (createSchematic) and use the id it returns",
    );
  }
  return `\n${emitSeq(node.items, childIndent, where)}`;
}

function emitMap(
  entries: [string, GoYamlNode][],
  indent: number,
  where: string,
  firstInline: boolean,
): string {
  let out = "";
  entries.forEach(([key, value], i) => {
    const keyText = inlineScalar(key, `${where} key`);
    if (keyText === undefined || key.length > 1024) {
      throw installerError(
        "SCHEMATIC_NOT_CANONICAL",
        `${where} has a multi-line or very long key; its canonical form is not known offline`,
        "create the schematic on the factory (createSchematic) and use the id it returns",
      );
    }
    const pad = i === 0 && firstInline ? "" : " ".repeat(indent);
    out += `${pad}${keyText}: `;
    const v = emitValue(value, indent, false, `${where}.${key}`);
    // `key:` followed by a nested block has no trailing space.
    out = v.startsWith("\n") ? `${out.slice(0, -1)}${v}` : out + v;
  });
  return out;
}

function emitSeq(items: GoYamlNode[], indent: number, where: string): string {
  let out = "";
  items.forEach((item, i) => {
    out += `${" ".repeat(indent)}- ${emitValue(item, indent, true, `${where}[${i}]`)}`;
  });
  return out;
}

/** The document as go-yaml `Marshal` writes it (a top-level mapping). */
export function emitGoYaml(
  root: GoYamlNode & { kind: "map" },
  options: { dialect?: GoYamlDialect } = {},
): string {
  if (root.entries.length === 0) return "{}\n";
  const before = dialect;
  dialect = options.dialect ?? "v4";
  try {
    return emitMap(root.entries, 0, "schematic", false);
  } finally {
    dialect = before;
  }
}

/**
 * go-yaml's "natural" key order for map[string]any: letters before digits except right after a
 * digit, digit runs compared as numbers.
 */
export function naturalLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  const isDigit = (c: string | undefined) => c !== undefined && /\p{Nd}/u.test(c);
  const isLetter = (c: string | undefined) => c !== undefined && /\p{L}/u.test(c);
  let digits = false;
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ca = ar[i] as string;
    const cb = br[i] as string;
    if (ca === cb) {
      digits = isDigit(ca);
      continue;
    }
    const al = isLetter(ca);
    const bl = isLetter(cb);
    if (al && bl) return (ca.codePointAt(0) ?? 0) < (cb.codePointAt(0) ?? 0);
    if (al || bl) return digits ? al : bl;
    let an = 0n;
    let bn = 0n;
    if (ca === "0" || cb === "0") {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== "0") {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10n + BigInt(Number(ar[ai]));
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10n + BigInt(Number(br[bi]));
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return (ca.codePointAt(0) ?? 0) < (cb.codePointAt(0) ?? 0);
  }
  return ar.length < br.length;
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64) as go-yaml writes floats (`.inf`, `.nan`). */
export function goFloat(f: number): string {
  if (Number.isNaN(f)) return ".nan";
  if (f === Number.POSITIVE_INFINITY) return ".inf";
  if (f === Number.NEGATIVE_INFINITY) return "-.inf";
  if (f === 0) return Object.is(f, -0) ? "-0" : "0";
  const [mant, expText] = f.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  // Shortest digits; Go switches to the exponent form below 1e-4 and from 1e6 on (precision 6 rule).
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  const digits = mant.replace("-", "").replace(".", "");
  const sign = f < 0 ? "-" : "";
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const frac = digits.slice(exp + 1);
  return `${sign}${intPart}${frac ? `.${frac}` : ""}`;
}
