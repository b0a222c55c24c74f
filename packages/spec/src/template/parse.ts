/**
 * The text/template parser: builds the node tree (text, actions, if/with/range with else and
 * `else if`/`else with` chains, break/continue, template/block/define), checks at parse time
 * what Go checks at parse time (unknown functions, undefined variables, stray `{{end}}`/`{{else}}`,
 * declarations, non-executable pipeline stages), and parses number and string literals with
 * Go's strconv rules.
 */
import { isKeyword, lex, type Token, type TokenType } from "./lexer.ts";
import { parseFloat64, parseInt0, parseUint0, StrconvError, unquote, unquoteChar } from "./strconv.ts";

export interface Span {
  /** Offset of the node's first character in the source. */
  pos: number;
  /** Offset just past the node. */
  end: number;
}

export type Node = TextNode | ActionNode | BranchNode | TemplateNode | LoopControlNode;

export interface TextNode {
  type: "text";
  pos: number;
  text: string;
}

export interface ActionNode {
  type: "action";
  /** Offset of the action's `{{`. */
  pos: number;
  pipe: PipeNode;
}

export interface BranchNode {
  type: "if" | "with" | "range";
  pos: number;
  pipe: PipeNode;
  list: Node[];
  elseList: Node[] | null;
}

export interface TemplateNode {
  type: "template";
  pos: number;
  name: string;
  pipe: PipeNode | null;
}

export interface LoopControlNode {
  type: "break" | "continue";
  pos: number;
}

export interface PipeNode extends Span {
  type: "pipe";
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}

export interface CommandNode extends Span {
  type: "command";
  args: ArgNode[];
}

export type ArgNode =
  | FieldNode
  | ChainNode
  | IdentifierNode
  | VariableNode
  | DotNode
  | NilNode
  | BoolNode
  | NumberNode
  | StringNode
  | PipeNode;

export interface FieldNode extends Span {
  type: "field";
  ident: string[];
}
export interface ChainNode extends Span {
  type: "chain";
  node: ArgNode;
  field: string[];
}
export interface IdentifierNode extends Span {
  type: "identifier";
  name: string;
}
export interface VariableNode extends Span {
  type: "variable";
  ident: string[];
}
export interface DotNode extends Span {
  type: "dot";
}
export interface NilNode extends Span {
  type: "nil";
}
export interface BoolNode extends Span {
  type: "bool";
  value: boolean;
}
export interface NumberNode extends Span {
  type: "number";
  text: string;
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  isComplex: boolean;
  int: bigint;
  uint: bigint;
  float: number;
}
export interface StringNode extends Span {
  type: "string";
  quoted: string;
  text: string;
}

/** A parse error at a source offset; the public API turns it into a TalosExtError. */
export class TemplateSyntaxError extends Error {
  readonly pos: number;
  readonly hint: string | undefined;
  constructor(message: string, pos: number, hint?: string) {
    super(message);
    this.pos = pos;
    this.hint = hint;
  }
}

export interface FunctionRef {
  name: string;
  pos: number;
}

export interface ParseResult {
  /** Templates by name; the main one is named by the file. */
  templates: Map<string, Node[]>;
  /** Every function identifier the templates use (for the check of a smaller function set). */
  functionRefs: FunctionRef[];
}

const MAX_NESTING = 1000;

interface EndNode {
  type: "end";
  pos: number;
}
interface ElseNode {
  type: "else";
  pos: number;
}
type ListItem = Node | EndNode | ElseNode;

/** Go's item.String() for error messages. */
function tokenString(t: Token): string {
  if (t.type === "eof") return "EOF";
  if (t.type === "error") return t.val;
  if (isKeyword(t.type)) return `<${t.val}>`;
  const runes = [...t.val];
  if (runes.length > 10) return `${JSON.stringify(runes.slice(0, 10).join(""))}...`;
  return JSON.stringify(t.val);
}

const isEmptyTree = (nodes: readonly Node[]): boolean =>
  nodes.every((n) => n.type === "text" && n.text.trim() === "");

class Parser {
  private readonly tokens: Token[];
  private i = 0;
  private vars: string[] = ["$"];
  private rangeDepth = 0;
  private depth = 0;
  private readonly templates = new Map<string, Node[]>();
  private readonly functionRefs: FunctionRef[] = [];
  /** Where the action being parsed starts (for "unexpected EOF" style errors). */
  private actionPos = 0;
  private readonly open: { what: string; pos: number }[] = [];

  private readonly source: string;
  private readonly name: string;
  private readonly hasFunction: (name: string) => boolean;

  constructor(source: string, name: string, hasFunction: (name: string) => boolean) {
    this.source = source;
    this.name = name;
    this.hasFunction = hasFunction;
    this.tokens = lex(source);
  }

  parse(): ParseResult {
    const root: Node[] = [];
    while (this.peek().type !== "eof") {
      if (this.peek().type === "leftDelim") {
        const delimIndex = this.i;
        const delim = this.next();
        if (this.nextNonSpace().type === "define") {
          this.parseDefinition(delim.pos);
          continue;
        }
        this.i = delimIndex;
      }
      const n = this.textOrAction();
      if (n.type === "end" || n.type === "else") {
        throw this.error(
          `unexpected {{${n.type}}}`,
          n.pos,
          `remove this {{${n.type}}} or add the {{if}}, {{range}}, {{with}}, {{define}} or {{block}} it belongs to`,
        );
      }
      root.push(n);
    }
    this.add(this.name, root, 0);
    return { templates: this.templates, functionRefs: this.functionRefs };
  }

  // -------- token navigation

  private peek(): Token {
    return this.tokens[this.i] ?? this.tokens[this.tokens.length - 1]!;
  }

  private next(): Token {
    const t = this.peek();
    this.i++;
    if (t.type === "error") throw this.lexError(t);
    return t;
  }

  private backup(): void {
    this.i--;
  }

  private nextNonSpace(): Token {
    let t: Token;
    do t = this.next();
    while (t.type === "space");
    return t;
  }

  private peekNonSpace(): Token {
    const save = this.i;
    for (;;) {
      const t = this.tokens[this.i] ?? this.tokens[this.tokens.length - 1]!;
      if (t.type === "error") throw this.lexError(t);
      if (t.type !== "space") {
        this.i = save;
        return t;
      }
      this.i++;
    }
  }

  private lexError(t: Token): TemplateSyntaxError {
    if (t.actionPos !== undefined && /^unclosed (action|left paren)$/.test(t.val)) {
      return this.error(t.val, t.actionPos, "close the action with }} (an action ends at the first }})");
    }
    if (t.val === "unclosed comment" || t.val === "comment ends before closing delimiter") {
      return this.error(
        t.val,
        t.actionPos ?? t.pos,
        "write comments as {{/* text */}} with nothing between */ and }}",
      );
    }
    return this.error(t.val, t.pos);
  }

  private error(message: string, pos: number, hint?: string): TemplateSyntaxError {
    return new TemplateSyntaxError(message, pos, hint);
  }

  private unexpected(t: Token, context: string): never {
    if (t.type === "error") throw this.lexError(t);
    throw this.error(`unexpected ${tokenString(t)} in ${context}`, t.pos);
  }

  private expect(type: TokenType, context: string): Token {
    const t = this.nextNonSpace();
    if (t.type !== type) this.unexpected(t, context);
    return t;
  }

  private enter(pos: number): void {
    if (++this.depth > MAX_NESTING) {
      throw this.error(
        "expression nests too deeply",
        pos,
        `templates may nest at most ${MAX_NESTING} levels`,
      );
    }
  }

  private leave(): void {
    this.depth--;
  }

  // -------- templates

  private add(name: string, root: Node[], pos: number): void {
    const existing = this.templates.get(name);
    if (existing === undefined || isEmptyTree(existing)) {
      this.templates.set(name, root);
      return;
    }
    if (!isEmptyTree(root)) {
      throw this.error(
        `template: multiple definition of template ${JSON.stringify(name)}`,
        pos,
        "give each {{define}} a unique name",
      );
    }
  }

  private parseDefinition(pos: number): void {
    const context = "define clause";
    const nameTok = this.nextNonSpace();
    if (nameTok.type !== "string" && nameTok.type !== "rawString") this.unexpected(nameTok, context);
    const name = this.unquote(nameTok);
    this.expect("rightDelim", context);
    const savedVars = this.vars;
    const savedRange = this.rangeDepth;
    this.vars = ["$"];
    this.rangeDepth = 0;
    this.open.push({ what: "{{define}}", pos });
    const [list, end] = this.itemList();
    this.open.pop();
    if (end.type !== "end") throw this.error(`unexpected {{${end.type}}} in ${context}`, end.pos);
    this.vars = savedVars;
    this.rangeDepth = savedRange;
    this.add(name, list, pos);
  }

  private itemList(): [Node[], EndNode | ElseNode] {
    const list: Node[] = [];
    while (this.peekNonSpace().type !== "eof") {
      const n = this.textOrAction();
      if (n.type === "end" || n.type === "else") return [list, n];
      list.push(n);
    }
    const open = this.open[this.open.length - 1];
    throw this.error(
      "unexpected EOF",
      open?.pos ?? this.peek().pos,
      open ? `${open.what} is never closed; add {{end}}` : "a block is missing its {{end}}",
    );
  }

  private textOrAction(): ListItem {
    const t = this.nextNonSpace();
    switch (t.type) {
      case "text":
        return { type: "text", pos: t.pos, text: t.val };
      case "leftDelim": {
        const saved = this.actionPos;
        this.actionPos = t.pos;
        try {
          return this.action(t.pos);
        } finally {
          this.actionPos = saved;
        }
      }
      default:
        return this.unexpected(t, "input");
    }
  }

  private action(delimPos: number): ListItem {
    const t = this.nextNonSpace();
    switch (t.type) {
      case "block":
        return this.blockControl(delimPos);
      case "break":
      case "continue":
        return this.loopControl(t, delimPos);
      case "else":
        return this.elseControl(delimPos);
      case "end":
        return { type: "end", pos: this.expectEnd(delimPos) };
      case "if":
      case "range":
      case "with":
        return this.control(t.type, delimPos);
      case "template":
        return this.templateControl(delimPos);
    }
    this.backup();
    return { type: "action", pos: delimPos, pipe: this.pipeline("command", "rightDelim") };
  }

  private expectEnd(delimPos: number): number {
    this.expect("rightDelim", "end");
    return delimPos;
  }

  private loopControl(t: Token, delimPos: number): LoopControlNode {
    const after = this.nextNonSpace();
    if (after.type !== "rightDelim") this.unexpected(after, `{{${t.type}}}`);
    if (this.rangeDepth === 0) {
      throw this.error(
        `{{${t.type}}} outside {{range}}`,
        delimPos,
        `{{${t.type}}} is only allowed inside a {{range}} loop`,
      );
    }
    return { type: t.type as "break" | "continue", pos: delimPos };
  }

  private elseControl(delimPos: number): ElseNode {
    const peek = this.peekNonSpace();
    if (peek.type === "if" || peek.type === "with") return { type: "else", pos: delimPos };
    this.expect("rightDelim", "else");
    return { type: "else", pos: delimPos };
  }

  private control(kind: "if" | "with" | "range", delimPos: number): BranchNode {
    this.enter(delimPos);
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(kind, "rightDelim");
      if (kind === "range") this.rangeDepth++;
      this.open.push({ what: `{{${kind}}}`, pos: delimPos });
      let list: Node[];
      let next: EndNode | ElseNode;
      try {
        [list, next] = this.itemList();
      } finally {
        if (kind === "range") this.rangeDepth--;
      }
      let elseList: Node[] | null = null;
      if (next.type === "else") {
        const peek = this.peekNonSpace();
        if ((kind === "if" && peek.type === "if") || (kind === "with" && peek.type === "with")) {
          // {{else if x}} is {{else}}{{if x}}…{{end}} with the inner {{end}} shared.
          this.nextNonSpace();
          elseList = [this.control(kind, next.pos)];
        } else {
          const [els, end] = this.itemList();
          if (end.type !== "end")
            throw this.error(
              "expected end; found {{else}}",
              end.pos,
              "a block can have only one plain {{else}}",
            );
          elseList = els;
        }
      }
      this.open.pop();
      return { type: kind, pos: delimPos, pipe, list, elseList };
    } finally {
      this.vars.length = mark;
      this.leave();
    }
  }

  private parseTemplateName(t: Token, context: string): string {
    if (t.type !== "string" && t.type !== "rawString") this.unexpected(t, context);
    return this.unquote(t);
  }

  private templateControl(delimPos: number): TemplateNode {
    const context = "template clause";
    const name = this.parseTemplateName(this.nextNonSpace(), context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().type !== "rightDelim") {
      this.backup();
      pipe = this.pipeline(context, "rightDelim");
    }
    return { type: "template", pos: delimPos, name, pipe };
  }

  private blockControl(delimPos: number): TemplateNode {
    const context = "block clause";
    const name = this.parseTemplateName(this.nextNonSpace(), context);
    const pipe = this.pipeline(context, "rightDelim");
    const savedVars = this.vars;
    const savedRange = this.rangeDepth;
    this.vars = ["$"];
    this.rangeDepth = 0;
    this.open.push({ what: "{{block}}", pos: delimPos });
    this.enter(delimPos);
    const [list, end] = this.itemList();
    this.leave();
    this.open.pop();
    if (end.type !== "end") throw this.error(`unexpected {{${end.type}}} in ${context}`, end.pos);
    this.vars = savedVars;
    this.rangeDepth = savedRange;
    this.add(name, list, delimPos);
    return { type: "template", pos: delimPos, name, pipe };
  }

  // -------- pipelines

  private pipeline(context: string, end: "rightDelim" | "rightParen"): PipeNode {
    const first = this.peekNonSpace();
    const pipe: PipeNode = {
      type: "pipe",
      pos: first.pos,
      end: first.pos,
      isAssign: false,
      decl: [],
      cmds: [],
    };
    for (;;) {
      const v = this.peekNonSpace();
      if (v.type !== "variable") break;
      const varIndex = this.i;
      this.nextNonSpace();
      const next = this.peekNonSpace();
      if (next.type === "assign" || next.type === "declare") {
        pipe.isAssign = next.type === "assign";
        this.nextNonSpace();
        pipe.decl.push({ type: "variable", pos: v.pos, end: v.end, ident: [v.val] });
        this.vars.push(v.val);
        break;
      }
      if (next.type === "char" && next.val === ",") {
        this.nextNonSpace();
        pipe.decl.push({ type: "variable", pos: v.pos, end: v.end, ident: [v.val] });
        this.vars.push(v.val);
        if (context === "range" && pipe.decl.length < 2) {
          const p = this.peekNonSpace().type;
          if (p === "variable" || p === "rightDelim" || p === "rightParen") continue;
          throw this.error("range can only initialize variables", next.pos);
        }
        throw this.error(`too many declarations in ${context}`, next.pos);
      }
      this.i = varIndex;
      break;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.type === end) {
        pipe.end = t.pos;
        this.checkPipeline(pipe, context, t.pos);
        return pipe;
      }
      switch (t.type) {
        case "bool":
        case "charConstant":
        case "complex":
        case "dot":
        case "field":
        case "identifier":
        case "number":
        case "nil":
        case "rawString":
        case "string":
        case "variable":
        case "leftParen":
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string, pos: number): void {
    if (pipe.cmds.length === 0) throw this.error(`missing value for ${context}`, pos);
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0]!.type;
      if (t === "bool" || t === "dot" || t === "nil" || t === "number" || t === "string") {
        throw this.error(
          `non executable command in pipeline stage ${i + 2}`,
          c.pos,
          "only functions, fields and methods can receive a piped value",
        );
      }
    });
  }

  private command(): CommandNode {
    const start = this.peekNonSpace();
    const cmd: CommandNode = { type: "command", pos: start.pos, end: start.pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) {
        cmd.args.push(operand);
        cmd.end = operand.end;
      }
      const t = this.next();
      if (t.type === "space") continue;
      if (t.type === "rightDelim" || t.type === "rightParen") this.backup();
      else if (t.type !== "pipe") this.unexpected(t, "operand");
      break;
    }
    if (cmd.args.length === 0) throw this.error("empty command", cmd.pos);
    return cmd;
  }

  private operand(): ArgNode | null {
    const node = this.term();
    if (!node) return null;
    if (this.peek().type !== "field") return node;
    const fields: string[] = [];
    let end = node.end;
    while (this.peek().type === "field") {
      const f = this.next();
      fields.push(f.val.slice(1));
      end = f.end;
    }
    switch (node.type) {
      case "field":
        return { type: "field", pos: node.pos, end, ident: [...node.ident, ...fields] };
      case "variable":
        return { type: "variable", pos: node.pos, end, ident: [...node.ident, ...fields] };
      case "bool":
      case "string":
      case "number":
      case "nil":
      case "dot":
        throw this.error(
          `unexpected . after term ${JSON.stringify(this.source.slice(node.pos, node.end))}`,
          node.end,
        );
      default:
        return { type: "chain", pos: node.pos, end, node, field: fields };
    }
  }

  private term(): ArgNode | null {
    const t = this.nextNonSpace();
    const span = { pos: t.pos, end: t.end };
    switch (t.type) {
      case "identifier":
        if (!this.hasFunction(t.val)) {
          throw this.error(`function ${JSON.stringify(t.val)} not defined`, t.pos);
        }
        this.functionRefs.push({ name: t.val, pos: t.pos });
        return { type: "identifier", ...span, name: t.val };
      case "dot":
        return { type: "dot", ...span };
      case "nil":
        return { type: "nil", ...span };
      case "variable":
        return this.useVar(t);
      case "field":
        return { type: "field", ...span, ident: [t.val.slice(1)] };
      case "bool":
        return { type: "bool", ...span, value: t.val === "true" };
      case "charConstant":
      case "complex":
      case "number":
        return this.number(t);
      case "leftParen": {
        this.enter(t.pos);
        const p = this.pipeline("parenthesized pipeline", "rightParen");
        this.leave();
        const close = this.tokens[this.i - 1]!;
        return { ...p, pos: t.pos, end: close.end };
      }
      case "string":
      case "rawString":
        return { type: "string", ...span, quoted: t.val, text: this.unquote(t) };
    }
    this.backup();
    return null;
  }

  private useVar(t: Token): VariableNode {
    const ident = t.val.split(".");
    if (!this.vars.includes(ident[0]!)) {
      throw this.error(
        `undefined variable ${JSON.stringify(ident[0])}`,
        t.pos,
        `declare it first with {{ ${ident[0]} := … }}`,
      );
    }
    return { type: "variable", pos: t.pos, end: t.end, ident };
  }

  private unquote(t: Token): string {
    try {
      return unquote(t.val);
    } catch (e) {
      if (e instanceof StrconvError)
        throw this.error(e.message, t.pos, "check the escapes in this string literal");
      throw e;
    }
  }

  private number(t: Token): NumberNode {
    const text = t.val;
    const n: NumberNode = {
      type: "number",
      pos: t.pos,
      end: t.end,
      text,
      isInt: false,
      isUint: false,
      isFloat: false,
      isComplex: false,
      int: 0n,
      uint: 0n,
      float: 0,
    };
    if (t.type === "complex" || (t.type === "number" && text.endsWith("i"))) {
      throw this.error(
        `complex constants are not supported: ${text}`,
        t.pos,
        "use an integer or a floating-point number",
      );
    }
    if (t.type === "charConstant") {
      let r: number;
      try {
        const u = unquoteChar(text, 1, 0x27);
        if (u.next !== text.length - 1 || text[text.length - 1] !== "'") {
          throw this.error(`malformed character constant: ${text}`, t.pos);
        }
        r = u.value;
      } catch (e) {
        if (e instanceof StrconvError)
          throw this.error("invalid syntax", t.pos, "check the character literal");
        throw e;
      }
      n.isInt = n.isUint = n.isFloat = true;
      n.int = n.uint = BigInt(r);
      n.float = r;
      return n;
    }
    try {
      n.uint = parseUint0(text);
      n.isUint = true;
    } catch {
      // not an unsigned integer
    }
    try {
      n.int = parseInt0(text);
      n.isInt = true;
      if (n.int === 0n) {
        n.isUint = true;
        n.uint = 0n;
      }
    } catch {
      // not a signed integer
    }
    if (n.isInt) {
      n.isFloat = true;
      n.float = Number(n.int);
    } else if (n.isUint) {
      n.isFloat = true;
      n.float = Number(n.uint);
    } else {
      let f: number | undefined;
      try {
        f = parseFloat64(text);
      } catch {
        f = undefined;
      }
      if (f !== undefined) {
        if (!/[.eEpP]/.test(text)) throw this.error(`integer overflow: ${JSON.stringify(text)}`, t.pos);
        n.isFloat = true;
        n.float = f;
        if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) {
          n.isInt = true;
          n.int = BigInt(f);
        }
        if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) {
          n.isUint = true;
          n.uint = BigInt(f);
        }
      }
    }
    if (!n.isInt && !n.isUint && !n.isFloat)
      throw this.error(`illegal number syntax: ${JSON.stringify(text)}`, t.pos);
    return n;
  }
}

/** Parses a template source. `hasFunction` decides which identifiers are known functions. */
export function parse(source: string, name: string, hasFunction: (name: string) => boolean): ParseResult {
  return new Parser(source, name, hasFunction).parse();
}
