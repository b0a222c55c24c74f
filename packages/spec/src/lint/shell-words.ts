/**
 * Splits a bldr script instruction into simple commands of words, far enough to see which paths
 * it writes: quotes, `$VAR`/`${VAR}` with the values known at that point, `$(…)`/backticks (their
 * result is unknown), brace expansion, globs, redirections and here-documents. It is no shell: a
 * word it cannot evaluate is marked `computed`, keeping the literal text before the first unknown
 * part, and callers treat that as "somewhere below this prefix".
 */

/** One shell word, evaluated as far as the known variables allow. */
export interface ShellWord {
  /** The word after quote removal and expansion of the known variables. */
  text: string;
  /** Some part could not be evaluated (an unknown variable, a command substitution, `~`). */
  computed: boolean;
  /** For a computed word: the text before its first unknown part. */
  prefix: string;
  /** Has an unquoted glob character (`*`, `?`, `[`). */
  glob: boolean;
}

/** One simple command: its words and the files its redirections write. */
export interface SimpleCommand {
  words: ShellWord[];
  /** Targets of `>`/`>>` redirections (files the command writes). */
  writes: ShellWord[];
}

/** Known variable values; `undefined` marks a variable that is set but unknown. */
export type ShellVars = Map<string, string | undefined>;

type Token = { op: string } | { word: ShellWord; redirect?: boolean };

const OPS = ["&&", "||", ";;", "|&", ";", "&", "|", "(", ")"];

/** Simple commands of `script`, in order; `vars` is consulted as each word is read. */
export function* simpleCommands(script: string, vars: ShellVars): Generator<SimpleCommand> {
  let current: SimpleCommand = { words: [], writes: [] };
  for (const t of tokens(script, vars)) {
    if ("op" in t) {
      if (current.words.length || current.writes.length) yield current;
      current = { words: [], writes: [] };
    } else if (t.redirect) {
      current.writes.push(t.word);
    } else {
      current.words.push(t.word);
    }
  }
  if (current.words.length || current.writes.length) yield current;
}

function* tokens(src: string, vars: ShellVars): Generator<Token> {
  let i = 0;
  let word: ShellWord | undefined;
  let braceable = true;
  let redirectNext = false;
  let skipNextWord = false;
  const heredocs: { delim: string; strip: boolean }[] = [];
  let heredocDelimNext: { strip: boolean } | undefined;
  const start = () => {
    if (!word) {
      word = { text: "", computed: false, prefix: "", glob: false };
      braceable = true;
    }
    return word;
  };
  const literal = (s: string) => {
    const w = start();
    w.text += s;
    if (!w.computed) w.prefix += s;
  };
  const unknown = () => {
    const w = start();
    w.computed = true;
    braceable = false;
  };
  function* finish(): Generator<Token> {
    if (!word) return;
    const w = word;
    word = undefined;
    if (heredocDelimNext) {
      heredocs.push({ delim: w.text, strip: heredocDelimNext.strip });
      heredocDelimNext = undefined;
      return;
    }
    if (skipNextWord) {
      skipNextWord = false;
      return;
    }
    const redirect = redirectNext;
    redirectNext = false;
    for (const text of braceable && !w.computed ? expandBraces(w.text) : [w.text]) {
      yield { word: { ...w, text, prefix: w.computed ? w.prefix : text }, redirect };
    }
  }
  const expandVar = (name: string) => {
    const value = vars.get(name);
    if (value === undefined) unknown();
    else {
      const w = start();
      w.text += value;
      if (!w.computed) w.prefix += value;
      braceable = false;
    }
  };
  /** Reads `$…` at `i` (pointing at `$`); returns the index after it. */
  const dollar = (at: number): number => {
    const next = src[at + 1];
    if (next === "{") {
      const end = src.indexOf("}", at + 2);
      if (end < 0) {
        unknown();
        return src.length;
      }
      const inner = src.slice(at + 2, end);
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(inner)) expandVar(inner);
      else unknown();
      return end + 1;
    }
    if (next === "(") {
      unknown();
      return matchParen(src, at + 1);
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(at + 1));
    if (m) {
      expandVar(m[0]);
      return at + 1 + m[0].length;
    }
    if (next !== undefined && /[0-9@*#?$!-]/.test(next)) {
      unknown();
      return at + 2;
    }
    literal("$");
    return at + 1;
  };

  while (i < src.length) {
    const c = src[i]!;
    if (c === "\\" && src[i + 1] === "\n") {
      i += 2;
      continue;
    }
    if (c === "\n") {
      yield* finish();
      yield { op: ";" };
      i++;
      // Here-document bodies start after the line that opened them; they are data, not commands.
      while (heredocs.length) {
        const h = heredocs.shift()!;
        for (;;) {
          if (i >= src.length) break;
          const eol = src.indexOf("\n", i);
          const line = src.slice(i, eol < 0 ? src.length : eol);
          i = eol < 0 ? src.length : eol + 1;
          if ((h.strip ? line.replace(/^\t+/, "") : line) === h.delim) break;
        }
      }
      continue;
    }
    if (c === " " || c === "\t") {
      yield* finish();
      i++;
      continue;
    }
    if (c === "#" && !word) {
      const eol = src.indexOf("\n", i);
      i = eol < 0 ? src.length : eol;
      continue;
    }
    if (c === "<" && src[i + 1] === "<") {
      yield* finish();
      const strip = src[i + 2] === "-";
      if (src[i + 2] === "<") {
        i += 3; // here-string: its word is data
        skipNextWord = true;
        continue;
      }
      i += strip ? 3 : 2;
      heredocDelimNext = { strip };
      continue;
    }
    if (c === ">" || c === "<") {
      // A file-descriptor number right before the operator (`2>`) is not a word.
      if (word && !word.computed && /^[0-9]+$/.test(word.text)) word = undefined;
      else yield* finish();
      let j = i + 1;
      if (src[j] === ">" || src[j] === "|") j++;
      if (src[j] === "&") {
        j++;
        skipNextWord = true; // `>&2`: a descriptor, not a file
      } else if (c === ">") {
        redirectNext = true;
      } else {
        skipNextWord = true; // input redirection reads
      }
      i = j;
      continue;
    }
    if (c === "&" && src[i + 1] === ">") {
      yield* finish();
      i += src[i + 2] === ">" ? 3 : 2;
      redirectNext = true;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (op) {
      yield* finish();
      yield { op };
      i += op.length;
      continue;
    }
    if (c === "'") {
      const end = src.indexOf("'", i + 1);
      const text = src.slice(i + 1, end < 0 ? src.length : end);
      literal(text);
      braceable = false;
      i = end < 0 ? src.length : end + 1;
      continue;
    }
    if (c === '"') {
      start();
      braceable = false;
      i++;
      while (i < src.length && src[i] !== '"') {
        const d = src[i]!;
        if (d === "\\" && i + 1 < src.length) {
          const n = src[i + 1]!;
          if ('"$`\\'.includes(n)) literal(n);
          else if (n !== "\n") literal(`\\${n}`);
          i += 2;
        } else if (d === "$") {
          i = dollar(i);
        } else if (d === "`") {
          unknown();
          const end = src.indexOf("`", i + 1);
          i = end < 0 ? src.length : end + 1;
        } else {
          literal(d);
          i++;
        }
      }
      i++;
      continue;
    }
    if (c === "\\") {
      literal(src[i + 1] ?? "");
      braceable = false;
      i += 2;
      continue;
    }
    if (c === "$") {
      i = dollar(i);
      continue;
    }
    if (c === "`") {
      unknown();
      const end = src.indexOf("`", i + 1);
      i = end < 0 ? src.length : end + 1;
      continue;
    }
    if (c === "~" && !word) {
      unknown();
      i++;
      continue;
    }
    if (c === "*" || c === "?" || c === "[") start().glob = true;
    literal(c);
    i++;
  }
  yield* finish();
}

/** Index just past the `)` matching the `(` at `open`, skipping quotes and nested parens. */
function matchParen(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const c = src[i];
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) return src.length;
      i = end;
    } else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return i + 1;
  }
  return src.length;
}

/** Bash brace expansion of one word: `a/{b,c}` → `a/b`, `a/c` (no ranges, at most 64 results). */
export function expandBraces(word: string): string[] {
  const m = /\{([^{}]*,[^{}]*)\}/.exec(word);
  if (!m) return [word];
  const head = word.slice(0, m.index);
  const tail = word.slice(m.index + m[0].length);
  const out = m[1]!.split(",").flatMap((alt) => expandBraces(head + alt + tail));
  return out.length > 64 ? [word] : out;
}
