/**
 * YAML decoding the way Go's yaml.v3/v4 decodes into string-typed structs: scalars keep their
 * literal text (`1.10` stays "1.10", `yes` stays "yes"), null-like scalars become `null`, and
 * every key and value keeps its source position so later checks can point at `file:line:col`.
 */
import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  Scalar,
} from "yaml";
import { type SourceLocation, TalosExtError } from "../errors.ts";

export type YamlPath = readonly (string | number)[];

/** Maps an offset in the decoded text to a 1-based line/column in the file the user wrote. */
export type PositionMapper = (offset: number) => { line: number; column: number };

export interface DecodedYaml {
  file: string;
  /** Plain data: objects, arrays, strings (scalar text) and `null`. */
  value: unknown;
  /** Where the value (or, with `"key"`, the key) at `path` was written; falls back to the nearest ancestor. */
  locate(path: YamlPath, which?: "key" | "value"): SourceLocation;
  /** True when the scalar at `path` was quoted (`"true"` is a string to Go, not a bool). */
  isQuoted(path: YamlPath): boolean;
  /** Whether `path` is present in the document (a `null` value counts as present). */
  has(path: YamlPath): boolean;
}

export interface DecodeYamlOptions {
  /** File name used in locations and errors. */
  file: string;
  /** Offset → source position; defaults to positions in `text` itself. */
  mapPosition?: PositionMapper;
}

const NULL_PLAIN = new Set(["", "~", "null", "Null", "NULL"]);

const pathKey = (path: YamlPath) => JSON.stringify(path);

/** Decodes the first YAML document of `text` (later documents are ignored, as Go's decoder does). */
export function decodeYaml(text: string, options: DecodeYamlOptions): DecodedYaml {
  const all = decodeYamlDocuments(text, options);
  return all[0] ?? emptyDocument(options.file);
}

/** Decodes every document of a multi-document stream (machine config style). */
export function decodeYamlDocuments(text: string, options: DecodeYamlOptions): DecodedYaml[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: false });
  const mapPosition: PositionMapper =
    options.mapPosition ??
    ((offset) => {
      const p = lineCounter.linePos(offset);
      return { line: p.line, column: p.col };
    });
  const list = Array.isArray(docs) ? docs : [docs];
  const out: DecodedYaml[] = [];
  for (const doc of list) {
    const problem = doc.errors[0];
    if (problem) {
      const pos = mapPosition(problem.pos[0]);
      throw new TalosExtError({
        code: "YAML_SYNTAX",
        message: `invalid YAML: ${firstLine(problem.message)}`,
        hint: "fix the YAML syntax at this position (indentation, quoting, a missing ':' or a duplicate key)",
        location: { file: options.file, line: pos.line, column: pos.column },
      });
    }
    out.push(convertDocument(doc, options.file, mapPosition));
  }
  return out;
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}

function emptyDocument(file: string): DecodedYaml {
  return {
    file,
    value: null,
    locate: () => ({ file, line: 1, column: 1 }),
    isQuoted: () => false,
    has: (path) => path.length === 0,
  };
}

interface NodeInfo {
  keyOffset?: number;
  valueOffset: number;
  quoted: boolean;
}

function convertDocument(doc: Document, file: string, mapPosition: PositionMapper): DecodedYaml {
  const info = new Map<string, NodeInfo>();
  const seen = new Set<Node>();

  const convert = (node: unknown, path: (string | number)[], keyOffset?: number): unknown => {
    let n = node as Node | null | undefined;
    if (n && isAlias(n)) n = (n as Alias).resolve(doc) as Node | undefined;
    const entry: NodeInfo = { valueOffset: n?.range?.[0] ?? keyOffset ?? 0, quoted: false };
    if (keyOffset !== undefined) entry.keyOffset = keyOffset;
    info.set(pathKey(path), entry);
    if (n == null) return null;
    if (isScalar(n)) {
      const s = n as Scalar;
      if (s.type === Scalar.PLAIN) {
        const text = s.source ?? String(s.value ?? "");
        return NULL_PLAIN.has(text) ? null : text;
      }
      entry.quoted = s.type === Scalar.QUOTE_DOUBLE || s.type === Scalar.QUOTE_SINGLE;
      return s.value == null ? "" : String(s.value);
    }
    // An alias that points back into its own ancestor would recurse forever; Go rejects it too.
    if (seen.has(n)) {
      const pos = mapPosition(entry.valueOffset);
      throw new TalosExtError({
        code: "YAML_SYNTAX",
        message: "invalid YAML: recursive alias",
        hint: "an anchor may not be referenced from inside itself",
        location: { file, line: pos.line, column: pos.column },
      });
    }
    seen.add(n);
    try {
      if (isSeq(n)) return n.items.map((item, i) => convert(item, [...path, i]));
      if (isMap(n)) {
        const obj: Record<string, unknown> = {};
        for (const pair of n.items) {
          const keyNode = pair.key as Node | null;
          const key = keyNode && isScalar(keyNode) ? scalarKey(keyNode as Scalar) : String(keyNode);
          obj[key] = convert(pair.value, [...path, key], keyNode?.range?.[0]);
        }
        return obj;
      }
    } finally {
      seen.delete(n);
    }
    return null;
  };

  const value = convert(doc.contents, []);

  const find = (path: YamlPath): NodeInfo | undefined => {
    for (let len = path.length; len >= 0; len--) {
      const hit = info.get(pathKey(path.slice(0, len)));
      if (hit) return hit;
    }
    return undefined;
  };

  return {
    file,
    value,
    locate(path, which = "value") {
      const hit = find(path);
      const offset = which === "key" ? (hit?.keyOffset ?? hit?.valueOffset ?? 0) : (hit?.valueOffset ?? 0);
      const pos = mapPosition(offset);
      return { file, line: pos.line, column: pos.column };
    },
    isQuoted: (path) => info.get(pathKey(path))?.quoted ?? false,
    has: (path) => info.has(pathKey(path)),
  };
}

function scalarKey(s: Scalar): string {
  if (s.type === Scalar.PLAIN && s.source !== undefined) return s.source;
  return s.value == null ? "" : String(s.value);
}
