/**
 * encoding/json as sprig uses it: Marshal (HTML-safe escaping, sorted map keys, Go's float
 * format), MarshalIndent with two spaces, the non-HTML-escaping encoder of toRawJson, and
 * Unmarshal into interface{} (objects, arrays, float64, string, bool, nil).
 */
import { formatFloat } from "./fmt.ts";
import { FuncError, LimitError, MAX_STRING } from "./funcs.ts";
import { runes } from "./strconv.ts";
import { fromPlain, type GoValue, isUnsigned, sortedKeys } from "./values.ts";

const HEX = "0123456789abcdef";

function encodeString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (const r of runes(s)) {
    if (r < 0x80) {
      const c = String.fromCharCode(r);
      if (r >= 0x20 && c !== '"' && c !== "\\" && !(escapeHTML && (c === "<" || c === ">" || c === "&"))) {
        out += c;
        continue;
      }
      switch (c) {
        case '"':
        case "\\":
          out += `\\${c}`;
          continue;
        case "\b":
          out += "\\b";
          continue;
        case "\f":
          out += "\\f";
          continue;
        case "\n":
          out += "\\n";
          continue;
        case "\r":
          out += "\\r";
          continue;
        case "\t":
          out += "\\t";
          continue;
      }
      out += `\\u00${HEX[r >> 4]}${HEX[r & 15]}`;
      continue;
    }
    if (r === 0x2028 || r === 0x2029) {
      out += `\\u${r.toString(16)}`;
      continue;
    }
    out += String.fromCodePoint(r);
  }
  return `${out}"`;
}

function encodeFloat(f: number): string {
  if (!Number.isFinite(f)) throw new FuncError(`json: unsupported value: ${formatFloat(f, "g", -1)}`);
  const abs = Math.abs(f);
  let fmt: "f" | "e" = "f";
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) fmt = "e";
  let s = formatFloat(f, fmt, -1);
  if (fmt === "e") {
    const n = s.length;
    if (n >= 4 && s[n - 4] === "e" && s[n - 3] === "-" && s[n - 2] === "0") s = s.slice(0, n - 2) + s[n - 1];
  }
  return s;
}

interface EncodeOptions {
  escapeHTML: boolean;
  indent?: string;
  /** Characters still allowed in the output. */
  budget: number;
}

function encode(v: GoValue, o: EncodeOptions, depth: number): string {
  if (depth > 1000) throw new FuncError("json: unsupported value: encountered a cycle");
  const s = encodeValue(v, o, depth);
  o.budget -= s.length;
  if (o.budget < 0) throw new LimitError(`JSON output too large (more than ${MAX_STRING} characters)`);
  return s;
}

function encodeValue(v: GoValue, o: EncodeOptions, depth: number): string {
  const nl = o.indent === undefined ? "" : `\n${o.indent.repeat(depth + 1)}`;
  const close = o.indent === undefined ? "" : `\n${o.indent.repeat(depth)}`;
  switch (v.k) {
    case "invalid":
    case "nil":
      return "null";
    case "bool":
      return v.v ? "true" : "false";
    case "int":
      return (isUnsigned(v.t) ? BigInt.asUintN(64, v.v) : v.v).toString();
    case "float":
      return encodeFloat(v.v);
    case "string":
      return encodeString(v.v, o.escapeHTML);
    case "semver":
      return encodeString(v.ver.toString(), o.escapeHTML);
    case "slice": {
      if (v.isNil) return "null";
      if (v.items.length === 0) return "[]";
      return `[${v.items.map((x) => nl + encode(x, o, depth + 1)).join(",")}${close}]`;
    }
    case "map": {
      if (v.isNil) return "null";
      if (v.entries.size === 0) return "{}";
      const sep = o.indent === undefined ? ":" : ": ";
      const keys = sortedKeys(v.entries);
      return `{${keys.map((k) => nl + encodeString(k, o.escapeHTML) + sep + encode(v.entries.get(k)!, o, depth + 1)).join(",")}${close}}`;
    }
  }
}

/** json.Marshal; throws FuncError for values JSON cannot hold (NaN, ±Inf). */
export function marshal(v: GoValue): string {
  return encode(v, { escapeHTML: true, budget: MAX_STRING }, 0);
}

/** json.MarshalIndent(v, "", "  "). */
export function marshalIndent(v: GoValue): string {
  return encode(v, { escapeHTML: true, indent: "  ", budget: MAX_STRING }, 0);
}

/** json.Encoder with SetEscapeHTML(false), trailing newline removed. */
export function marshalRaw(v: GoValue): string {
  return encode(v, { escapeHTML: false, budget: MAX_STRING }, 0);
}

/** json.Unmarshal into interface{}. */
export function unmarshal(text: string): GoValue {
  if (text.trim() === "") throw new FuncError("unexpected end of JSON input");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new FuncError(`invalid JSON: ${(e as Error).message}`);
  }
  return fromPlain(parsed);
}
