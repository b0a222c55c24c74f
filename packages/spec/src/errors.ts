/**
 * Errors and diagnostics as data. Every user-facing problem carries a stable `code`, a message
 * that says what is wrong, a `hint` that says what to do, and where it came from.
 */

export type Severity = "error" | "warning" | "info";

/** A place in an input file. Lines and columns are 1-based. */
export interface SourceLocation {
  /** The file, as given to the reader (often relative to the tree root). */
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
}

/** One finding, as printed by `talos-ext lint --json`. */
export interface Diagnostic {
  /**
   * Stable code (e.g. `SCHEMA_REQUIRED`): match on it, never on the message; docs/error-codes.md lists them.
   */
  code: string;
  /** `error` fails lint and builds; `warning` and `info` are reported only. */
  severity: Severity;
  /** What is wrong, in one sentence. */
  message: string;
  /** What to do about it. */
  hint?: string;
  /** The file the finding is about, as given to the reader (often relative to the tree root). */
  file?: string;
  /** 1-based line in `file`, when known. */
  line?: number;
  /** 1-based column in `file`, when known. */
  column?: number;
}

/** The fields of a {@link TalosExtError} (its constructor's argument). */
export interface TalosExtErrorOptions {
  /** Stable code from the package's registry (docs/error-codes.md); match on it, never on the message. */
  code: string;
  /** What is wrong, naming the input. */
  message: string;
  /** What to do about it. */
  hint?: string;
  /** The input the error is about, when there is one. */
  location?: SourceLocation;
  /** The underlying failure, kept for debugging (the message already says what went wrong). */
  cause?: unknown;
  /** Several findings that together make this error (e.g. every schema issue of a file). */
  diagnostics?: Diagnostic[];
}

/**
 * The one error type of the toolkit. User errors (bad input) are instances of it; anything else
 * that is thrown is a bug and is reported with its stack.
 */
export class TalosExtError extends Error {
  override readonly name = "TalosExtError";
  /** Stable code (docs/error-codes.md): match on it, never on the message. */
  readonly code: string;
  /** What to do about it, when there is something to say. */
  readonly hint: string | undefined;
  /** The input the error is about, when there is one. */
  readonly location: SourceLocation | undefined;
  /** The findings that make this error: the ones given, else this error as one diagnostic. */
  readonly diagnostics: Diagnostic[];

  constructor(options: TalosExtErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.hint = options.hint;
    this.location = options.location;
    this.diagnostics = options.diagnostics ?? [toDiagnostic(options)];
  }

  /** The error as a diagnostic (the first one if it aggregates several). */
  toDiagnostic(): Diagnostic {
    return toDiagnostic(this);
  }
}

function toDiagnostic(e: {
  code: string;
  message: string;
  hint?: string | undefined;
  location?: SourceLocation | undefined;
}): Diagnostic {
  const d: Diagnostic = { code: e.code, severity: "error", message: e.message };
  if (e.hint !== undefined) d.hint = e.hint;
  if (e.location) Object.assign(d, locationFields(e.location));
  return d;
}

/** Whether `value` is a {@link TalosExtError} (for `catch` clauses, which see `unknown`). */
export function isTalosExtError(value: unknown): value is TalosExtError {
  return value instanceof TalosExtError;
}

/** Builds a diagnostic; `location` fields are copied flat, as in the JSON output. */
export function diagnostic(
  code: string,
  severity: Severity,
  message: string,
  options: {
    /** What to do about it; left out of the diagnostic when undefined. */
    hint?: string | undefined;
    /** Where in the input the problem is; its `file`, `line` and `column` become the diagnostic's own. */
    location?: SourceLocation | undefined;
  } = {},
): Diagnostic {
  const d: Diagnostic = { code, severity, message };
  if (options.hint !== undefined) d.hint = options.hint;
  if (options.location) Object.assign(d, locationFields(options.location));
  return d;
}

function locationFields(loc: SourceLocation): Pick<Diagnostic, "file" | "line" | "column"> {
  const out: Pick<Diagnostic, "file" | "line" | "column"> = { file: loc.file };
  if (loc.line !== undefined) out.line = loc.line;
  if (loc.column !== undefined) out.column = loc.column;
  return out;
}

/** `file:line:col` (or as much of it as is known). */
export function formatLocation(loc: Partial<SourceLocation> | undefined): string {
  if (!loc?.file) return "";
  let s = loc.file;
  if (loc.line !== undefined) {
    s += `:${loc.line}`;
    if (loc.column !== undefined) s += `:${loc.column}`;
  }
  return s;
}

/** One diagnostic as a human-readable block: `file:line:col: error CODE: message` + hint line. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = formatLocation(d);
  const head = `${where ? `${where}: ` : ""}${d.severity} ${d.code}: ${d.message}`;
  return d.hint ? `${head}\n  hint: ${d.hint}` : head;
}

/** Orders diagnostics by file, line, column, then code, so output is stable. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      (a.file ?? "").localeCompare(b.file ?? "") ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.code.localeCompare(b.code),
  );
}

/** Whether any diagnostic of `list` is an error (not a warning or info). */
export function hasErrors(list: readonly Diagnostic[]): boolean {
  return list.some((d) => d.severity === "error");
}

/** Classic Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate within a small edit distance (case-insensitive), if any. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(1, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= limit ? best : undefined;
}
