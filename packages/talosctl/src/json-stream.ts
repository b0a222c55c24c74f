/**
 * `talosctl get -o json` prints one pretty-printed object per resource, simply concatenated: no
 * array, no separator. This splitter finds where each top-level object ends while the bytes
 * arrive, hands the object's text to `JSON.parse`, and keeps nothing else. It looks at every
 * character once (strings are skipped with `indexOf`), so it is linear in its input, and it holds
 * at most one object's text, bounded by `maxObjectChars`.
 */

/** Why the splitter refused its input; the caller turns it into a `TalosctlError`. */
export class JsonStreamError extends Error {
  override readonly name = "JsonStreamError";
  /** `truncated`: the input ended inside an object; `syntax`: not a stream of objects; `too-large`: an object over the budget. */
  readonly reason: "truncated" | "syntax" | "too-large";
  /** Character offset in the whole stream where the problem was found. */
  readonly offset: number;

  constructor(reason: "truncated" | "syntax" | "too-large", offset: number, message: string) {
    super(message);
    this.reason = reason;
    this.offset = offset;
  }
}

/** Options of the splitter. */
export interface JsonObjectSplitterOptions {
  /** Largest single object, in characters (default 16 Mi). */
  maxObjectChars?: number;
}

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const OPEN_ARRAY = 0x5b; // [
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The general splitter: a character scan that tracks strings and nesting. */
class Scanner {
  private readonly maxObjectChars: number;
  /** Text of the object being read, from earlier chunks. */
  private pending: string[] = [];
  private pendingChars = 0;
  private depth = 0;
  private inString = false;
  /** The previous chunk ended on a backslash inside a string. */
  private escaped = false;
  /** Characters consumed before the current chunk. */
  private consumed: number;

  constructor(maxObjectChars: number, consumed: number) {
    this.maxObjectChars = maxObjectChars;
    this.consumed = consumed;
  }

  /** Consumes a chunk of text; returns the objects it completes, in order. */
  push(chunk: string): unknown[] {
    const out: unknown[] = [];
    const n = chunk.length;
    let start = this.depth > 0 ? 0 : -1; // where the current object's text begins in this chunk
    let i = 0;
    // Next quote and backslash at or after i, cached so each is searched for once per chunk
    // position (searching afresh for every string would make long chunks quadratic).
    let nextQuote = -2;
    let nextBackslash = -2;
    while (i < n) {
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
          i++;
          continue;
        }
        if (nextQuote !== -1 && nextQuote < i) nextQuote = chunk.indexOf('"', i);
        if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = chunk.indexOf("\\", i);
        if (nextBackslash !== -1 && (nextQuote === -1 || nextBackslash < nextQuote)) {
          if (nextBackslash + 1 >= n) {
            this.escaped = true;
            i = n;
          } else i = nextBackslash + 2;
          continue;
        }
        if (nextQuote === -1) {
          i = n;
          continue;
        }
        this.inString = false;
        i = nextQuote + 1;
        continue;
      }
      const c = chunk.charCodeAt(i);
      if (this.depth === 0) {
        if (isSpace(c)) {
          i++;
          continue;
        }
        if (c !== OPEN) {
          throw new JsonStreamError(
            "syntax",
            this.consumed + i,
            `expected "{" at offset ${this.consumed + i} of the output, found ${JSON.stringify(String.fromCharCode(c))}`,
          );
        }
        start = i;
        this.depth = 1;
        i++;
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN || c === OPEN_ARRAY) this.depth++;
      else if (c === CLOSE || c === CLOSE_ARRAY) {
        this.depth--;
        if (this.depth === 0) {
          if (c !== CLOSE) {
            throw new JsonStreamError(
              "syntax",
              this.consumed + i,
              `unbalanced "]" at offset ${this.consumed + i}`,
            );
          }
          const piece = chunk.slice(start, i + 1);
          const text = this.pending.length > 0 ? this.pending.join("") + piece : piece;
          this.checkSize(text.length, i);
          this.pending = [];
          this.pendingChars = 0;
          out.push(this.parse(text, i));
          start = -1;
        }
      } else if (c === BACKSLASH) {
        throw new JsonStreamError(
          "syntax",
          this.consumed + i,
          `stray backslash at offset ${this.consumed + i}`,
        );
      }
      i++;
    }
    if (this.depth > 0 && start !== -1) {
      const piece = start === 0 ? chunk : chunk.slice(start);
      this.pending.push(piece);
      this.pendingChars += piece.length;
      this.checkSize(this.pendingChars, n);
    }
    this.consumed += n;
    return out;
  }

  /** Declares the end of input; throws when it ends inside an object. */
  end(): void {
    if (this.depth > 0 || this.inString) {
      throw new JsonStreamError(
        "truncated",
        this.consumed,
        `the output ends inside a JSON object (after ${this.consumed} characters): it was cut short`,
      );
    }
  }

  private checkSize(chars: number, at: number): void {
    if (chars > this.maxObjectChars) {
      throw new JsonStreamError(
        "too-large",
        this.consumed + at,
        `one JSON object is larger than the budget of ${this.maxObjectChars} characters`,
      );
    }
  }

  private parse(text: string, at: number): unknown {
    try {
      return JSON.parse(text);
    } catch (cause) {
      // The parser's own message quotes the input; keep only where it failed.
      const where = /position (\d+)/.exec((cause as Error).message)?.[1];
      const offset = this.consumed + at - text.length + 1 + (where ? Number(where) : 0);
      throw new JsonStreamError(
        "syntax",
        offset,
        `invalid JSON in the object ending at offset ${this.consumed + at}`,
      );
    }
  }
}

const NEWLINE_CLOSE = "\n}";
/** Pending text without a line-start `}` beyond this goes to the scanner (compact input). */
const FAST_PENDING_LIMIT = 1024 * 1024;

/**
 * Incremental splitter of concatenated JSON objects. Feed it text with `push()`; it returns the
 * objects completed by that text, parsed. Call `end()` when the input is over.
 *
 * Fast path: talosctl's objects end with a line that is exactly `}`. JSON strings cannot hold a
 * raw newline, so a newline followed by `}` is always a closing brace; when the text up to it
 * parses, it is exactly one object. Anything else (compact JSON, other indentation, garbage)
 * falls back, once and for good, to the character scanner. Each character is looked at a bounded
 * number of times either way, so the whole stays linear.
 */
export class JsonObjectSplitter {
  private readonly maxObjectChars: number;
  private scanner: Scanner | undefined;
  private pending: string[] = [];
  private pendingChars = 0;
  /** Absolute offset where the pending object starts. */
  private objectStart = 0;
  /** The pending text ends with a newline (a `}` at the start of the next chunk closes it). */
  private pendingNewline = false;
  private consumed = 0;

  constructor(options: JsonObjectSplitterOptions = {}) {
    this.maxObjectChars = options.maxObjectChars ?? 16 * 1024 * 1024;
  }

  /** Consumes a chunk of text; returns the objects it completes, in order. */
  push(chunk: string): unknown[] {
    if (this.scanner) return this.scanner.push(chunk);
    const out: unknown[] = [];
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      let from = 0;
      if (this.pendingChars === 0) {
        while (pos < n && isSpace(chunk.charCodeAt(pos))) pos++;
        if (pos === n) break;
        if (chunk.charCodeAt(pos) !== OPEN)
          return this.fallBack(out, chunk.slice(pos), this.consumed + pos, n);
        from = pos;
        this.objectStart = this.consumed + pos;
      }
      let end: number;
      if (this.pendingChars > 0 && this.pendingNewline && chunk.charCodeAt(0) === CLOSE) end = 0;
      else {
        const k = chunk.indexOf(NEWLINE_CLOSE, from);
        end = k === -1 ? -1 : k + 1;
      }
      if (end === -1) {
        const piece = from === 0 ? chunk : chunk.slice(from);
        this.pending.push(piece);
        this.pendingChars += piece.length;
        this.pendingNewline = chunk.charCodeAt(n - 1) === 0x0a;
        if (this.pendingChars > Math.min(FAST_PENDING_LIMIT, this.maxObjectChars)) {
          const text = this.takePending();
          return this.fallBack(out, text, this.objectStart, n);
        }
        pos = n;
        break;
      }
      const piece = chunk.slice(from, end + 1);
      const text = this.pendingChars > 0 ? this.takePending() + piece : piece;
      let value: unknown;
      try {
        if (text.length > this.maxObjectChars) throw new Error("too large");
        value = JSON.parse(text);
      } catch {
        // Not one whole object (or a bad one): the scanner decides, with the rest of the chunk.
        return this.fallBack(out, text + chunk.slice(end + 1), this.objectStart, n);
      }
      out.push(value);
      pos = end + 1;
    }
    this.consumed += n;
    return out;
  }

  /**
   * Declares the end of input and returns the objects only it completes (compact input without a
   * closing line); throws when the input ends inside an object.
   */
  end(): unknown[] {
    let rest: unknown[] = [];
    if (!this.scanner && this.pendingChars > 0) {
      // What is pending has no closing line: the scanner finds whole objects in it, or says why not.
      this.scanner = new Scanner(this.maxObjectChars, this.objectStart);
      rest = this.scanner.push(this.takePending());
    }
    this.scanner?.end();
    return rest;
  }

  private takePending(): string {
    const text = this.pending.join("");
    this.pending = [];
    this.pendingChars = 0;
    this.pendingNewline = false;
    return text;
  }

  private fallBack(out: unknown[], text: string, offset: number, chunkLength: number): unknown[] {
    this.pending = [];
    this.pendingChars = 0;
    this.scanner = new Scanner(this.maxObjectChars, offset);
    const more = this.scanner.push(text);
    this.consumed += chunkLength;
    return more.length > 0 ? out.concat(more) : out;
  }
}

/** Splits and parses a whole text of concatenated JSON objects (see `JsonObjectSplitter`). */
export function parseConcatenatedJson(text: string, options: JsonObjectSplitterOptions = {}): unknown[] {
  const splitter = new JsonObjectSplitter(options);
  const out = splitter.push(text);
  const rest = splitter.end();
  return rest.length > 0 ? out.concat(rest) : out;
}
