/**
 * Finding where a variable is defined in a `Pkgfile` or `vars.yaml`, by text.
 *
 * A vars.yaml is a Go template, so its raw text is often not valid YAML (`{{ if }}` lines, or the
 * same key twice in the two branches of an arch switch). We therefore look for the key line by
 * line instead of parsing: a top-level `KEY:` in a vars.yaml, a `KEY:` one level under `vars:` in
 * the Pkgfile. Every matching line counts (both branches of an `{{ if }}` define the variable).
 */
import { updateError } from "./errors.ts";

/** The two kinds of file that can define template variables. */
export type VarsFileKind = "pkgfile" | "vars";

/** `Pkgfile` at the root or any `vars.yaml`; other files cannot define variables. */
export function varsFileKind(file: string): VarsFileKind | undefined {
  if (file === "Pkgfile") return "pkgfile";
  if (file === "vars.yaml" || file.endsWith("/vars.yaml")) return "vars";
  return undefined;
}

/** One `KEY: value` line. Offsets are into the whole text; the value span includes quotes. */
export interface VarDefinition {
  /** The defining file, relative to the root. */
  file: string;
  /** 1-based line and column of the key. */
  line: number;
  /** 1-based column of the key. */
  column: number;
  /** Offset of the value's first character (its quote, if quoted). */
  valueStart: number;
  /** Offset just past the value's last character (quotes included). */
  valueEnd: number;
  /** The value as written (with its quotes, without a trailing comment). */
  raw: string;
  /** The quote the value is written in (`""` when unquoted), kept when the value is replaced. */
  quote: '"' | "'" | "";
}

interface Line {
  text: string;
  start: number;
}

function splitLines(text: string): Line[] {
  const out: Line[] = [];
  let start = 0;
  for (;;) {
    const nl = text.indexOf("\n", start);
    const end = nl < 0 ? text.length : nl;
    const body = text.slice(start, end);
    out.push({ text: body.endsWith("\r") ? body.slice(0, -1) : body, start });
    if (nl < 0) return out;
    start = nl + 1;
  }
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function isBlankOrComment(line: string): boolean {
  const t = line.trimStart();
  return t === "" || t.startsWith("#");
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/** Every line that defines `name` in `text`. Throws UPDATE_VAR_UNSUPPORTED for values we cannot edit. */
export function findVarDefinitions(
  text: string,
  kind: VarsFileKind,
  name: string,
  file: string,
): VarDefinition[] {
  const key = new RegExp(
    `^(?:"${escapeRe(name)}"|'${escapeRe(name)}'|${escapeRe(name)})[ \\t]*:(?=[ \\t]|$)`,
  );
  const out: VarDefinition[] = [];
  let inVars = false;
  let varsIndent: number | undefined;
  splitLines(text).forEach((line, index) => {
    let indent = 0;
    if (kind === "pkgfile") {
      if (isBlankOrComment(line.text)) return;
      indent = indentOf(line.text);
      if (indent === 0) {
        inVars = /^vars[ \t]*:[ \t]*(#.*)?$/.test(line.text);
        varsIndent = undefined;
        return;
      }
      if (!inVars) return;
      varsIndent ??= indent;
      if (indent !== varsIndent) return;
    }
    const rest = line.text.slice(indent);
    const m = key.exec(rest);
    if (!m) return;
    const lineNo = index + 1;
    const span = valueSpan(rest, m[0].length);
    if (!span) {
      throw updateError(
        "UPDATE_VAR_UNSUPPORTED",
        `${name} in ${file}:${lineNo} is not a one-line scalar value`,
        "update edits one-line values (plain or quoted); write the value on the key's line",
        { location: { file, line: lineNo, column: indent + 1 } },
      );
    }
    const base = line.start + indent;
    out.push({
      file,
      line: lineNo,
      column: indent + 1,
      valueStart: base + span.start,
      valueEnd: base + span.end,
      raw: rest.slice(span.start, span.end),
      quote: span.quote,
    });
  });
  return out;
}

/** Where the value after `KEY:` sits in `line`, or undefined for block, flow and multi-line values. */
function valueSpan(
  line: string,
  afterColon: number,
): { start: number; end: number; quote: VarDefinition["quote"] } | undefined {
  let start = afterColon;
  while (line[start] === " " || line[start] === "\t") start++;
  const c = line[start];
  if (c === undefined || c === "#") return { start: afterColon, end: afterColon, quote: "" };
  if ("|>[{&*!".includes(c)) return undefined;
  if (c === '"') {
    for (let i = start + 1; i < line.length; i++) {
      if (line[i] === "\\") i++;
      else if (line[i] === '"') return { start, end: i + 1, quote: '"' };
    }
    return undefined;
  }
  if (c === "'") {
    for (let i = start + 1; i < line.length; i++) {
      if (line[i] !== "'") continue;
      if (line[i + 1] === "'") i++;
      else return { start, end: i + 1, quote: "'" };
    }
    return undefined;
  }
  const comment = /[ \t]#/.exec(line.slice(start));
  let end = comment ? start + comment.index : line.length;
  while (end > start && (line[end - 1] === " " || line[end - 1] === "\t")) end--;
  return { start, end, quote: "" };
}

/** `text` with the value of every definition replaced by `marker` (quotes kept). */
export function replaceValues(text: string, defs: readonly VarDefinition[], marker: string): string {
  let out = text;
  for (const d of [...defs].sort((a, b) => b.valueStart - a.valueStart)) {
    const value = d.quote
      ? `${d.quote}${marker}${d.quote}`
      : d.valueStart === d.valueEnd
        ? ` ${marker}`
        : marker;
    out = out.slice(0, d.valueStart) + value + out.slice(d.valueEnd);
  }
  return out;
}
