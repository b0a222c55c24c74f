/**
 * The text/template scanner: text, `{{ … }}` actions with `{{- ` / ` -}}` trim markers (the
 * space is required, `{{-3}}` is the number -3), comments that must sit directly inside the
 * delimiters, and Go's token rules inside actions (fields, variables, numbers, strings, chars,
 * keywords). Token positions are offsets into the source, which is how output is later mapped
 * back to template lines.
 */
import { isDigit, isLetter, isPrint } from "./strconv.ts";

export type TokenType =
  | "error"
  | "bool"
  | "char"
  | "charConstant"
  | "complex"
  | "assign"
  | "declare"
  | "eof"
  | "field"
  | "identifier"
  | "leftDelim"
  | "leftParen"
  | "number"
  | "pipe"
  | "rawString"
  | "rightDelim"
  | "rightParen"
  | "space"
  | "string"
  | "text"
  | "variable"
  // keywords
  | "block"
  | "break"
  | "continue"
  | "dot"
  | "define"
  | "else"
  | "end"
  | "if"
  | "nil"
  | "range"
  | "template"
  | "with";

export interface Token {
  type: TokenType;
  /** Offset of the token's first character. */
  pos: number;
  /** Offset just past the token. */
  end: number;
  val: string;
  /** For errors inside an action: where that action's `{{` is. */
  actionPos?: number;
}

const KEYWORDS = new Map<string, TokenType>([
  ["block", "block"],
  ["break", "break"],
  ["continue", "continue"],
  ["define", "define"],
  ["else", "else"],
  ["end", "end"],
  ["if", "if"],
  ["range", "range"],
  ["nil", "nil"],
  ["template", "template"],
  ["with", "with"],
]);

export const isKeyword = (t: TokenType): boolean =>
  t === "dot" ||
  t === "block" ||
  t === "break" ||
  t === "continue" ||
  t === "define" ||
  t === "else" ||
  t === "end" ||
  t === "if" ||
  t === "nil" ||
  t === "range" ||
  t === "template" ||
  t === "with";

const EOF = -1;
const LEFT = "{{";
const RIGHT = "}}";

/** Space characters inside actions and for trimming (Go's lexer: space, tab, CR, LF). */
export const isSpaceChar = (r: number): boolean => r === 0x20 || r === 0x09 || r === 0x0d || r === 0x0a;
const isAlphaNumeric = (r: number): boolean => r === 0x5f || (r >= 0 && (isLetter(r) || isDigit(r)));

/** Go's %#U: U+0041 'A'. */
export function formatRune(r: number): string {
  if (r < 0) return "EOF";
  const hex = `U+${r.toString(16).toUpperCase().padStart(4, "0")}`;
  return isPrint(r) ? `${hex} '${String.fromCodePoint(r)}'` : hex;
}

type State = (() => State) | null;

class Lexer {
  readonly tokens: Token[] = [];
  private pos = 0;
  private start = 0;
  private width = 0;
  private parenDepth = 0;
  private actionPos = 0;

  private readonly input: string;

  constructor(input: string) {
    this.input = input;
  }

  run(): void {
    let state: State = this.lexText;
    while (state) state = state.call(this);
  }

  private next(): number {
    if (this.pos >= this.input.length) {
      this.width = 0;
      return EOF;
    }
    const r = this.input.codePointAt(this.pos)!;
    this.width = r > 0xffff ? 2 : 1;
    this.pos += this.width;
    return r;
  }

  private peek(): number {
    const r = this.next();
    this.backup();
    return r;
  }

  private backup(): void {
    this.pos -= this.width;
  }

  private emit(type: TokenType): void {
    this.tokens.push({ type, pos: this.start, end: this.pos, val: this.input.slice(this.start, this.pos) });
    this.start = this.pos;
  }

  private ignore(): void {
    this.start = this.pos;
  }

  private accept(valid: string): boolean {
    const r = this.next();
    if (r !== EOF && valid.includes(String.fromCodePoint(r))) return true;
    this.backup();
    return false;
  }

  private acceptRun(valid: string): void {
    for (;;) {
      const r = this.next();
      if (r === EOF || !valid.includes(String.fromCodePoint(r))) break;
    }
    this.backup();
  }

  private errorf(message: string, atAction = false): State {
    const tok: Token = { type: "error", pos: this.start, end: this.pos, val: message };
    if (atAction) tok.actionPos = this.actionPos;
    this.tokens.push(tok);
    return null;
  }

  private hasLeftTrimMarker(at: number): boolean {
    return this.input[at] === "-" && isSpaceChar(this.input.charCodeAt(at + 1));
  }

  private hasRightTrimMarker(at: number): boolean {
    return isSpaceChar(this.input.charCodeAt(at)) && this.input[at + 1] === "-";
  }

  private atRightDelim(): { delim: boolean; trim: boolean } {
    if (this.hasRightTrimMarker(this.pos) && this.input.startsWith(RIGHT, this.pos + 2))
      return { delim: true, trim: true };
    if (this.input.startsWith(RIGHT, this.pos)) return { delim: true, trim: false };
    return { delim: false, trim: false };
  }

  private trimmedRight(from: number, to: number): number {
    let i = to;
    while (i > from && isSpaceChar(this.input.charCodeAt(i - 1))) i--;
    return to - i;
  }

  private trimmedLeft(from: number): number {
    let i = from;
    while (i < this.input.length && isSpaceChar(this.input.charCodeAt(i))) i++;
    return i - from;
  }

  private lexText(): State {
    const x = this.input.indexOf(LEFT, this.pos);
    if (x >= 0) {
      if (x > this.pos) {
        this.pos = x;
        const trim = this.hasLeftTrimMarker(x + LEFT.length) ? this.trimmedRight(this.start, this.pos) : 0;
        this.pos -= trim;
        if (this.pos > this.start) this.emit("text");
        this.pos += trim;
        this.ignore();
      }
      return this.lexLeftDelim;
    }
    this.pos = this.input.length;
    if (this.pos > this.start) this.emit("text");
    this.emit("eof");
    return null;
  }

  private lexLeftDelim(): State {
    this.actionPos = this.pos;
    this.pos += LEFT.length;
    const trim = this.hasLeftTrimMarker(this.pos);
    const after = trim ? 2 : 0;
    if (this.input.startsWith("/*", this.pos + after)) {
      this.pos += after;
      this.ignore();
      return this.lexComment;
    }
    this.emit("leftDelim");
    this.pos += after;
    this.ignore();
    this.parenDepth = 0;
    return this.lexInsideAction;
  }

  private lexComment(): State {
    this.pos += 2;
    const x = this.input.indexOf("*/", this.pos);
    if (x < 0) return this.errorf("unclosed comment", true);
    this.pos = x + 2;
    const { delim, trim } = this.atRightDelim();
    if (!delim) return this.errorf("comment ends before closing delimiter", true);
    if (trim) this.pos += 2;
    this.pos += RIGHT.length;
    if (trim) this.pos += this.trimmedLeft(this.pos);
    this.ignore();
    return this.lexText;
  }

  private lexRightDelim(): State {
    const { trim } = this.atRightDelim();
    if (trim) {
      this.pos += 2;
      this.ignore();
    }
    this.pos += RIGHT.length;
    this.emit("rightDelim");
    if (trim) {
      this.pos += this.trimmedLeft(this.pos);
      this.ignore();
    }
    return this.lexText;
  }

  private lexInsideAction(): State {
    const { delim } = this.atRightDelim();
    if (delim) {
      if (this.parenDepth === 0) return this.lexRightDelim;
      return this.errorf("unclosed left paren", true);
    }
    const r = this.next();
    if (r === EOF) return this.errorf("unclosed action", true);
    if (isSpaceChar(r)) {
      this.backup();
      return this.lexSpace;
    }
    switch (r) {
      case 0x3d: // =
        this.emit("assign");
        return this.lexInsideAction;
      case 0x3a: // :
        if (this.next() !== 0x3d) return this.errorf("expected :=");
        this.emit("declare");
        return this.lexInsideAction;
      case 0x7c: // |
        this.emit("pipe");
        return this.lexInsideAction;
      case 0x22:
        return this.lexQuote;
      case 0x60:
        return this.lexRawQuote;
      case 0x24:
        return this.lexVariable;
      case 0x27:
        return this.lexChar;
      case 0x28:
        this.emit("leftParen");
        this.parenDepth++;
        return this.lexInsideAction;
      case 0x29:
        this.parenDepth--;
        if (this.parenDepth < 0) return this.errorf("unexpected right paren");
        this.emit("rightParen");
        return this.lexInsideAction;
    }
    if (r === 0x2e) {
      const c = this.input.charCodeAt(this.pos);
      if (this.pos < this.input.length && (c < 0x30 || c > 0x39)) return this.lexField;
    }
    if (r === 0x2e || r === 0x2b || r === 0x2d || (r >= 0x30 && r <= 0x39)) {
      this.backup();
      return this.lexNumber;
    }
    if (isAlphaNumeric(r)) {
      this.backup();
      return this.lexIdentifier;
    }
    if (r <= 0x7f && isPrint(r)) {
      this.emit("char");
      return this.lexInsideAction;
    }
    return this.errorf(`unrecognized character in action: ${formatRune(r)}`);
  }

  private lexSpace(): State {
    let spaces = 0;
    while (isSpaceChar(this.peek())) {
      this.next();
      spaces++;
    }
    if (this.hasRightTrimMarker(this.pos - 1) && this.input.startsWith(RIGHT, this.pos + 1)) {
      this.pos -= 1;
      if (spaces === 1) return this.lexRightDelim;
    }
    this.emit("space");
    return this.lexInsideAction;
  }

  private lexIdentifier(): State {
    for (;;) {
      const r = this.next();
      if (isAlphaNumeric(r)) continue;
      this.backup();
      const word = this.input.slice(this.start, this.pos);
      if (!this.atTerminator()) return this.errorf(`bad character ${formatRune(r)}`);
      const kw = KEYWORDS.get(word);
      if (kw !== undefined) this.emit(kw);
      else if (word === "true" || word === "false") this.emit("bool");
      else this.emit("identifier");
      return this.lexInsideAction;
    }
  }

  private lexField(): State {
    return this.lexFieldOrVariable("field");
  }

  private lexVariable(): State {
    if (this.atTerminator()) {
      this.emit("variable");
      return this.lexInsideAction;
    }
    return this.lexFieldOrVariable("variable");
  }

  private lexFieldOrVariable(type: "field" | "variable"): State {
    if (this.atTerminator()) {
      this.emit(type === "variable" ? "variable" : "dot");
      return this.lexInsideAction;
    }
    let r: number;
    for (;;) {
      r = this.next();
      if (!isAlphaNumeric(r)) {
        this.backup();
        break;
      }
    }
    if (!this.atTerminator()) return this.errorf(`bad character ${formatRune(r)}`);
    this.emit(type);
    return this.lexInsideAction;
  }

  private atTerminator(): boolean {
    const r = this.peek();
    if (isSpaceChar(r)) return true;
    switch (r) {
      case EOF:
      case 0x2e:
      case 0x2c:
      case 0x7c:
      case 0x3a:
      case 0x29:
      case 0x28:
        return true;
    }
    return this.input.startsWith(RIGHT, this.pos);
  }

  private lexQuoted(quote: number, what: string, type: TokenType): State {
    for (;;) {
      let r = this.next();
      if (r === 0x5c) {
        r = this.next();
        if (r !== EOF && r !== 0x0a) continue;
        return this.errorf(`unterminated ${what}`);
      }
      if (r === EOF || r === 0x0a) return this.errorf(`unterminated ${what}`);
      if (r === quote) break;
    }
    this.emit(type);
    return this.lexInsideAction;
  }

  private lexChar(): State {
    return this.lexQuoted(0x27, "character constant", "charConstant");
  }

  private lexQuote(): State {
    return this.lexQuoted(0x22, "quoted string", "string");
  }

  private lexRawQuote(): State {
    const end = this.input.indexOf("`", this.pos);
    if (end < 0) {
      this.pos = this.input.length;
      return this.errorf("unterminated raw quoted string");
    }
    this.pos = end + 1;
    this.emit("rawString");
    return this.lexInsideAction;
  }

  private lexNumber(): State {
    if (!this.scanNumber())
      return this.errorf(`bad number syntax: ${JSON.stringify(this.input.slice(this.start, this.pos))}`);
    const sign = this.peek();
    if (sign === 0x2b || sign === 0x2d) {
      if (!this.scanNumber() || this.input[this.pos - 1] !== "i") {
        return this.errorf(`bad number syntax: ${JSON.stringify(this.input.slice(this.start, this.pos))}`);
      }
      this.emit("complex");
    } else this.emit("number");
    return this.lexInsideAction;
  }

  private scanNumber(): boolean {
    this.accept("+-");
    let digits = "0123456789_";
    if (this.accept("0")) {
      if (this.accept("xX")) digits = "0123456789abcdefABCDEF_";
      else if (this.accept("oO")) digits = "01234567_";
      else if (this.accept("bB")) digits = "01_";
    }
    this.acceptRun(digits);
    if (this.accept(".")) this.acceptRun(digits);
    if (digits.length === 11 && this.accept("eE")) {
      this.accept("+-");
      this.acceptRun("0123456789_");
    }
    if (digits.length === 23 && this.accept("pP")) {
      this.accept("+-");
      this.acceptRun("0123456789_");
    }
    this.accept("i");
    if (isAlphaNumeric(this.peek())) {
      this.next();
      return false;
    }
    return true;
  }
}

/** Scans the whole input; the list ends with an `eof` token, or stops at an `error` token. */
export function lex(input: string): Token[] {
  const l = new Lexer(input);
  l.run();
  return l.tokens;
}
