/**
 * YAML decoding the way Go's yaml.v3/v4 decodes into string-typed structs: scalars keep their
 * literal text (`1.10` stays "1.10", `yes` stays "yes"), null-like scalars become `null`, merge
 * keys (`<<: *base`) merge as in Go, and every key and value keeps its source position so later
 * checks can point at `file:line:col`.
 *
 * This is the one YAML decoder for untrusted input (Pkgfile, vars.yaml, pkg.yaml, manifest.yaml,
 * service specs), so it carries the budgets: a document size cap, an alias-expansion cap (a
 * 500-byte "billion laughs" document would otherwise expand to 10^9 nodes, through aliases or
 * merge keys alike), and it is linear in its input: anchors are resolved from one table built in
 * one pass, duplicate keys are found with one set per mapping, and positions live in a tree (no
 * per-node path strings).
 */
import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Node,
  parseAllDocuments,
  Scalar,
  visit,
} from "yaml";
import { type SourceLocation, TalosExtError } from "../errors.ts";
import { lineColumn, lineStarts } from "../text-position.ts";
import { decodeUtf8Faithful } from "../utf8.ts";

/** A path into decoded YAML: mapping keys and sequence indexes, from the document root. */
export type YamlPath = readonly (string | number)[];

/** Maps an offset in the decoded text to a 1-based line/column in the file the user wrote. */
export type PositionMapper = (offset: number) => { line: number; column: number };

/** One decoded YAML document: plain data plus where each part of it was written. */
export interface DecodedYaml {
  /** The file name given to the decoder, used in every location. */
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

/** Options of {@link decodeYaml} and {@link decodeYamlDocuments}. */
export interface DecodeYamlOptions {
  /** File name used in locations and errors. */
  file: string;
  /** Offset → source position; defaults to positions in `text` itself. */
  mapPosition?: PositionMapper;
  /** Largest document accepted, in UTF-8 bytes. Default {@link DEFAULT_MAX_YAML_BYTES}. */
  maxBytes?: number;
  /**
   * Most nodes that aliases and merge keys may add to the decoded data, summed over the stream.
   * Default: {@link DEFAULT_MAX_ALIAS_NODES} or the number of nodes written in the text, whichever
   * is larger (so the decoded data stays linear in the size of the input).
   */
  maxAliasNodes?: number;
}

/** Default document size cap of the decoder: 64 MiB, far above any real bldr file. */
export const DEFAULT_MAX_YAML_BYTES = 64 * 1024 * 1024;

/** Default alias-expansion floor: the nodes aliases may add, whatever the document's size. */
export const DEFAULT_MAX_ALIAS_NODES = 100_000;

const NULL_PLAIN = new Set(["", "~", "null", "Null", "NULL"]);
const MERGE_TAG = "tag:yaml.org,2002:merge";

/** Decodes the first YAML document of `text` (later documents are ignored, as Go's decoder does). */
export function decodeYaml(text: string, options: DecodeYamlOptions): DecodedYaml {
  const all = decodeYamlDocuments(text, options, 1);
  return all[0] ?? emptyDocument(options.file);
}

/**
 * Decodes the first YAML document of a file's bytes. Invalid UTF-8 is an error with its position
 * (`YAML_INVALID_UTF8`), as in Go, instead of being replaced silently.
 */
export function decodeYamlBytes(bytes: Uint8Array, options: DecodeYamlOptions): DecodedYaml {
  const max = options.maxBytes ?? DEFAULT_MAX_YAML_BYTES;
  // Refuse before decoding: a huge buffer would otherwise be copied into a huge string first.
  if (bytes.length > max) throw tooLarge(bytes.length, max, { file: options.file, line: 1, column: 1 });
  return decodeYaml(decodeUtf8Faithful(bytes), options);
}

/**
 * Decodes every document of a multi-document stream (machine config style); `limit` stops after
 * that many documents (later ones are still checked for syntax, as a parser must read them).
 */
export function decodeYamlDocuments(
  text: string,
  options: DecodeYamlOptions,
  limit = Infinity,
): DecodedYaml[] {
  const mapPosition: PositionMapper = options.mapPosition ?? textPositions(text);
  const at = (offset: number): SourceLocation => ({ file: options.file, ...mapPosition(offset) });
  checkSize(text, options, at);
  checkUtf8(text, at);
  // uniqueKeys is off because the library checks it with a scan per key (quadratic in the size
  // of a mapping); the converter checks duplicates itself with a set per mapping.
  const docs = parseAllDocuments(text, { merge: false, uniqueKeys: false, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const problem = doc.errors[0];
    if (problem) {
      throw new TalosExtError({
        code: "YAML_SYNTAX",
        message: `invalid YAML: ${firstLine(problem.message)}`,
        hint: "fix the YAML syntax at this position (indentation, quoting, a missing ':' or a duplicate key)",
        location: at(problem.pos[0]),
      });
    }
  }
  const chosen = list.slice(0, limit);
  const budget = { left: options.maxAliasNodes ?? Math.max(DEFAULT_MAX_ALIAS_NODES, countNodes(chosen)) };
  return chosen.map((doc) => new Converter(doc, options.file, mapPosition, budget).run());
}

function checkSize(text: string, options: DecodeYamlOptions, at: (offset: number) => SourceLocation): void {
  const max = options.maxBytes ?? DEFAULT_MAX_YAML_BYTES;
  // A UTF-16 unit is 1 to 3 UTF-8 bytes: count bytes only when the length alone cannot decide.
  if (text.length * 3 <= max) return;
  const size = text.length > max ? text.length : Buffer.byteLength(text, "utf8");
  if (size <= max) return;
  throw tooLarge(size, max, at(0));
}

function tooLarge(size: number, max: number, location: SourceLocation): TalosExtError {
  return new TalosExtError({
    code: "YAML_TOO_LARGE",
    message: `YAML document is larger than ${max} bytes (${size} or more)`,
    hint: "a bldr file or manifest is a few kilobytes; check that this is the file you meant, or split it",
    location,
  });
}

/**
 * Go's YAML reader rejects invalid UTF-8 (`yaml: invalid leading UTF-8 octet`). Files are decoded
 * with invalid bytes kept as lone surrogates (see `decodeUtf8Faithful`), so a lone surrogate here
 * is an invalid byte that reached the YAML: reject it where it sits.
 */
function checkUtf8(text: string, at: (offset: number) => SourceLocation): void {
  if (text.isWellFormed()) return;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (c <= 0xdbff) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
    }
    const byte = c >= 0xdc80 && c <= 0xdcff ? ` (byte 0x${(c - 0xdc00).toString(16)})` : "";
    throw new TalosExtError({
      code: "YAML_INVALID_UTF8",
      message: `invalid UTF-8 in YAML${byte}`,
      hint: "YAML files must be UTF-8 (bldr's YAML decoder rejects them too); re-save the file as UTF-8 or remove the byte",
      location: at(i),
    });
  }
}

/** Offset → 1-based line/column in `text` itself; the line table is built on first use. */
function textPositions(text: string): PositionMapper {
  let starts: number[] | undefined;
  return (offset) => lineColumn((starts ??= lineStarts(text)), offset);
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

function countNodes(docs: readonly Document[]): number {
  let n = 0;
  for (const doc of docs) {
    visit(doc, {
      Node: () => {
        n++;
      },
    });
  }
  return n;
}

/** Position data of one decoded node, with its children by key or index. */
interface Info {
  keyOffset?: number;
  valueOffset: number;
  quoted: boolean;
  children?: Map<string | number, Info>;
}

/** Converts one composed document into plain data plus an {@link Info} tree. */
class Converter {
  /** Alias → the anchored node it refers to (the last one before it in document order). */
  private readonly targets = new Map<Alias, Node>();
  /** Collections being converted: an alias back into one of them would recurse forever. */
  private readonly active = new Set<Node>();
  /** Depth of alias expansion we are in; nodes converted at depth > 0 are charged to the budget. */
  private aliasDepth = 0;
  /** Offset of the outermost alias being expanded (where the budget error points). */
  private aliasOffset = 0;

  private readonly doc: Document;
  private readonly file: string;
  private readonly mapPosition: PositionMapper;
  /** Shared by every document of one stream. */
  private readonly budget: { left: number };

  constructor(doc: Document, file: string, mapPosition: PositionMapper, budget: { left: number }) {
    this.doc = doc;
    this.file = file;
    this.mapPosition = mapPosition;
    this.budget = budget;
  }

  run(): DecodedYaml {
    this.resolveAnchors();
    const root: Info = { valueOffset: 0, quoted: false };
    const value = this.convert(this.doc.contents, root);
    const { file, mapPosition } = this;
    const walk = (path: YamlPath): { info: Info; complete: boolean } => {
      let info = root;
      for (const part of path) {
        const next = info.children?.get(part);
        if (!next) return { info, complete: false };
        info = next;
      }
      return { info, complete: true };
    };
    return {
      file,
      value,
      locate(path, which = "value") {
        const { info } = walk(path);
        const offset = which === "key" ? (info.keyOffset ?? info.valueOffset) : info.valueOffset;
        return { file, ...mapPosition(offset) };
      },
      isQuoted(path) {
        const { info, complete } = walk(path);
        return complete && info.quoted;
      },
      has: (path) => walk(path).complete,
    };
  }

  /** One pass in document order: an alias refers to the last node with its anchor before it. */
  private resolveAnchors(): void {
    const anchors = new Map<string, Node>();
    visit(this.doc, {
      Node: (_key, node) => {
        if (isAlias(node)) {
          const target = anchors.get(node.source);
          if (target) this.targets.set(node, target);
        } else if (node.anchor) {
          anchors.set(node.anchor, node);
        }
      },
    });
  }

  private fail(code: string, message: string, hint: string, offset: number): never {
    throw new TalosExtError({
      code,
      message,
      hint,
      location: { file: this.file, ...this.mapPosition(offset) },
    });
  }

  private charge(offset: number): void {
    if (this.aliasDepth === 0) return;
    if (--this.budget.left >= 0) return;
    this.fail(
      "YAML_ALIAS_BUDGET",
      "YAML aliases expand to too many nodes (a document that grows exponentially through anchors, aliases or merge keys)",
      "write the values out instead of nesting aliases of aliases; bldr files do not need anchors at all",
      this.aliasOffset || offset,
    );
  }

  /** Resolves an alias to its anchored node, or fails like Go on an unknown anchor. */
  private target(alias: Alias): Node {
    const target = this.targets.get(alias);
    if (!target) {
      this.fail(
        "YAML_SYNTAX",
        `invalid YAML: unknown anchor '${alias.source}' referenced`,
        "define the anchor (&name) before the alias (*name) that uses it",
        alias.range?.[0] ?? 0,
      );
    }
    return target;
  }

  /** Converts `node` into plain data, filling `info` (already linked into its parent). */
  private convert(node: unknown, info: Info): unknown {
    const n = node as Node | null | undefined;
    if (n && isAlias(n)) {
      const target = this.target(n);
      const outermost = this.aliasDepth === 0;
      if (outermost) this.aliasOffset = n.range?.[0] ?? 0;
      this.aliasDepth++;
      try {
        return this.convert(target, info);
      } finally {
        this.aliasDepth--;
        if (outermost) this.aliasOffset = 0;
      }
    }
    info.valueOffset = n?.range?.[0] ?? info.keyOffset ?? 0;
    if (n == null) return null;
    this.charge(info.valueOffset);
    if (isScalar(n)) {
      const s = n as Scalar;
      if (s.type === Scalar.PLAIN) {
        const text = s.source ?? String(s.value ?? "");
        return NULL_PLAIN.has(text) ? null : text;
      }
      info.quoted = s.type === Scalar.QUOTE_DOUBLE || s.type === Scalar.QUOTE_SINGLE;
      return s.value == null ? "" : String(s.value);
    }
    // An alias that points back into its own ancestor would recurse forever; Go rejects it too.
    if (this.active.has(n)) {
      this.fail(
        "YAML_SYNTAX",
        "invalid YAML: recursive alias",
        "an anchor may not be referenced from inside itself",
        info.valueOffset,
      );
    }
    this.active.add(n);
    try {
      if (isSeq(n)) {
        const children = new Map<number, Info>();
        info.children = children;
        const out: unknown[] = [];
        for (let i = 0; i < n.items.length; i++) {
          const child: Info = { valueOffset: 0, quoted: false };
          children.set(i, child);
          out.push(this.convert(n.items[i], child));
        }
        return out;
      }
      if (isMap(n)) return this.convertMap(n.items, info);
    } finally {
      this.active.delete(n);
    }
    return null;
  }

  /**
   * A mapping, with Go's rules: a key may appear once (`<<` included); keys written in the mapping
   * win over merged ones; of several merged mappings (`<<: [*a, *b]`) the first one wins.
   */
  private convertMap(
    pairs: readonly { key: unknown; value: unknown }[],
    info: Info,
  ): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    const children = new Map<string, Info>();
    info.children = children;
    const seen = new Set<string>();
    let merge: { value: unknown; offset: number } | undefined;
    for (const pair of pairs) {
      const keyNode = pair.key as Node | null;
      const key = keyNode && isScalar(keyNode) ? scalarKey(keyNode as Scalar) : String(keyNode);
      const keyOffset = keyNode?.range?.[0] ?? info.valueOffset;
      if (seen.has(key)) {
        this.fail(
          "YAML_SYNTAX",
          "invalid YAML: Map keys must be unique",
          "fix the YAML syntax at this position (indentation, quoting, a missing ':' or a duplicate key)",
          keyOffset,
        );
      }
      seen.add(key);
      if (isMergeKey(keyNode)) {
        merge = { value: pair.value, offset: keyOffset };
        continue;
      }
      const child: Info = { keyOffset, valueOffset: keyOffset, quoted: false };
      children.set(key, child);
      obj[key] = this.convert(pair.value, child);
    }
    if (merge) this.mergeInto(obj, children, merge.value, merge.offset);
    return obj;
  }

  /** Go's merge: the value is a mapping, an alias of one, or a sequence of those. */
  private mergeInto(
    obj: Record<string, unknown>,
    children: Map<string, Info>,
    value: unknown,
    offset: number,
  ): void {
    const wantMap = (at: number): never =>
      this.fail(
        "YAML_SYNTAX",
        "invalid YAML: map merge requires map or sequence of maps as the value",
        "the value of `<<` must be a mapping, an alias of one (*name) or a list of those",
        at,
      );
    const mapOf = (node: unknown): unknown => {
      const n = node as Node | null | undefined;
      const resolved = n && isAlias(n) ? this.target(n) : n;
      if (!resolved || !isMap(resolved)) wantMap((n?.range?.[0] ?? offset) as number);
      return n;
    };
    const v = value as Node | null | undefined;
    const sources = v && isSeq(v) ? v.items.map(mapOf) : [mapOf(v)];
    for (const source of sources) {
      const holder: Info = { valueOffset: offset, quoted: false };
      const merged = this.convert(source, holder) as Record<string, unknown>;
      for (const [key, child] of holder.children ?? []) {
        if (children.has(key as string)) continue;
        children.set(key as string, child);
        obj[key as string] = merged[key as string];
      }
    }
  }
}

function isMergeKey(key: Node | null): boolean {
  if (!key || !isScalar(key)) return false;
  if (key.tag === MERGE_TAG) return true;
  return key.tag == null && key.type === Scalar.PLAIN && key.source === "<<";
}

function scalarKey(s: Scalar): string {
  if (s.type === Scalar.PLAIN && s.source !== undefined) return s.source;
  return s.value == null ? "" : String(s.value);
}
