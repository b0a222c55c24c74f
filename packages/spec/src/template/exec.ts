/**
 * Executes a parsed template the way text/template's exec.go does: evaluation of pipelines,
 * commands, fields, variables and function calls with Go's argument checking; if/with/range
 * (lists, maps in key order, integers) with break/continue and else; template/block
 * invocation with a fresh variable scope; printing with fmt's %v and `<no value>` for a missing
 * key. Output is recorded in segments so every output offset maps back to the template source.
 * Recursion, work and output size are bounded so that no input can hang or crash the process.
 */
import { formatValue } from "./fmt.ts";
import {
  assignable,
  canBeNil,
  FuncError,
  type FuncMap,
  type GoFunc,
  goTypeName,
  LimitError,
  MAX_STRING,
  type ParamType,
} from "./funcs.ts";
import type {
  ArgNode,
  BranchNode,
  ChainNode,
  CommandNode,
  FieldNode,
  IdentifierNode,
  Node,
  NumberNode,
  PipeNode,
  TemplateNode,
  VariableNode,
} from "./parse.ts";
import { semverMethod } from "./sprig.ts";
import {
  bool,
  dict,
  float,
  type GoValue,
  INVALID,
  int,
  NIL,
  nilMap,
  sortedKeys,
  str,
  truth,
  typeName,
  unwrapNil,
} from "./values.ts";

export const MAX_TEMPLATE_DEPTH = 200;
export const MAX_STEPS = 2_000_000;
export const MAX_OUTPUT = 16 * 1024 * 1024;

/** An execution error at a source offset; the public API turns it into a TalosExtError. */
export class TemplateExecError extends Error {
  readonly pos: number;
  readonly hint: string | undefined;
  constructor(message: string, pos: number, hint?: string) {
    super(message);
    this.pos = pos;
    this.hint = hint;
  }
}

const MISSING: unique symbol = Symbol("missing");
type Final = GoValue | typeof MISSING;

class BreakSignal {}
class ContinueSignal {}
const BREAK = new BreakSignal();
const CONTINUE = new ContinueSignal();

/** Output text with, for each piece, where in the source it came from. */
export class Output {
  private readonly parts: string[] = [];
  length = 0;
  readonly segOut: number[] = [];
  readonly segSrc: number[] = [];
  readonly segCopy: boolean[] = [];

  add(text: string, srcPos: number, copy: boolean): void {
    if (text === "") return;
    if (this.length + text.length > MAX_OUTPUT) {
      throw new LimitError(`output too large (more than ${MAX_OUTPUT} characters)`);
    }
    this.parts.push(text);
    this.segOut.push(this.length);
    this.segSrc.push(srcPos);
    this.segCopy.push(copy);
    this.length += text.length;
  }

  toString(): string {
    return this.parts.join("");
  }

  /** Maps an output offset to a source offset. */
  sourceOffset(offset: number): number {
    const n = this.segOut.length;
    if (n === 0) return 0;
    const o = Math.max(0, Math.min(offset, this.length));
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segOut[mid]! <= o) lo = mid;
      else hi = mid - 1;
    }
    return this.segCopy[lo] ? this.segSrc[lo]! + (o - this.segOut[lo]!) : this.segSrc[lo]!;
  }
}

export interface ExecTemplates {
  readonly name: string;
  readonly source: string;
  readonly templates: ReadonlyMap<string, Node[]>;
}

interface Variable {
  name: string;
  value: GoValue;
}

const hintFor = (message: string): string | undefined => {
  if (message.startsWith("wrong number of args")) {
    return "check the function's arguments; sprig puts the subject last (replace OLD NEW S, substr START END S, regexReplaceAll RE S REPL)";
  }
  if (message.includes("incompatible types for comparison")) {
    return "eq/ne/lt/… compare values of the same kind; template variables are strings, so quote the other side";
  }
  if (message.startsWith("wrong type for value")) {
    return "convert the value first (toString, int, int64, float64) or pass a value of the expected type";
  }
  return undefined;
};

export class Executor {
  private vars: Variable[] = [];
  private depth = 0;
  private steps = 0;
  private pos = 0;

  private readonly t: ExecTemplates;
  private readonly funcs: FuncMap;
  private readonly out: Output;

  constructor(t: ExecTemplates, funcs: FuncMap, out: Output) {
    this.t = t;
    this.funcs = funcs;
    this.out = out;
  }

  execute(data: GoValue): void {
    const root = this.t.templates.get(this.t.name) ?? [];
    this.vars = [{ name: "$", value: data }];
    this.walkList(data, root);
  }

  // -------- errors

  private errorf(message: string, hint?: string): never {
    throw new TemplateExecError(message, this.pos, hint ?? hintFor(message));
  }

  private at(pos: number): void {
    this.pos = pos;
  }

  /** Work done by a function grows with its inputs; count it so loops over big values stop too. */
  private charge(args: readonly GoValue[]): void {
    let cost = 0;
    for (const a of args) {
      if (a.k === "slice") cost += a.items.length;
      else if (a.k === "map") cost += a.entries.size;
      else if (a.k === "string") cost += a.v.length >> 10;
    }
    this.steps += cost;
    this.step();
  }

  private step(): void {
    if (++this.steps > MAX_STEPS) {
      this.errorf(
        `template execution took more than ${MAX_STEPS} steps`,
        "the template loops or recurses too much; check {{range}} bounds and {{template}} recursion",
      );
    }
  }

  // -------- variables

  private mark(): number {
    return this.vars.length;
  }

  private pop(mark: number): void {
    this.vars.length = mark;
  }

  private setVar(name: string, value: GoValue): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private setTopVar(n: number, value: GoValue): void {
    this.vars[this.vars.length - n]!.value = value;
  }

  private varValue(name: string): GoValue {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) return this.vars[i]!.value;
    }
    return this.errorf(`undefined variable: ${name}`);
  }

  // -------- walking

  private walkList(dot: GoValue, nodes: readonly Node[]): void {
    for (const n of nodes) this.walk(dot, n);
  }

  private walk(dot: GoValue, node: Node): void {
    this.step();
    this.at(node.pos);
    switch (node.type) {
      case "text":
        this.out.add(node.text, node.pos, true);
        return;
      case "action": {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) {
          this.at(node.pos);
          this.out.add(this.printValue(val), node.pos, false);
        }
        return;
      }
      case "if":
      case "with":
        this.walkIfOrWith(node, dot);
        return;
      case "range":
        this.walkRange(node, dot);
        return;
      case "template":
        this.walkTemplate(node, dot);
        return;
      case "break":
        throw BREAK;
      case "continue":
        throw CONTINUE;
    }
  }

  private printValue(v: GoValue): string {
    if (v.k === "invalid" || v.k === "nil") return "<no value>";
    const s = formatValue(v);
    if (s.length > MAX_STRING) throw new LimitError("value too large to print");
    return s;
  }

  private walkIfOrWith(node: BranchNode, dot: GoValue): void {
    const mark = this.mark();
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (truth(val)) this.walkList(node.type === "with" ? val : dot, node.list);
      else if (node.elseList) this.walkList(dot, node.elseList);
    } finally {
      this.pop(mark);
    }
  }

  private walkRange(r: BranchNode, dot: GoValue): void {
    const outer = this.mark();
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.mark();
      const decl = r.pipe.decl;
      const oneIteration = (index: GoValue, elem: GoValue): void => {
        this.step();
        if (decl.length > 0) {
          if (r.pipe.isAssign) this.setVar(decl[0]!.ident[0]!, decl.length > 1 ? index : elem);
          else this.setTopVar(1, elem);
        }
        if (decl.length > 1) {
          if (r.pipe.isAssign) this.setVar(decl[1]!.ident[0]!, elem);
          else this.setTopVar(2, index);
        }
        try {
          this.walkList(elem, r.list);
        } catch (e) {
          if (e !== CONTINUE) throw e;
        } finally {
          this.pop(mark);
        }
      };
      let ran = false;
      try {
        switch (val.k) {
          case "slice":
            val.items.forEach((item, i) => {
              ran = true;
              oneIteration(int(i), item);
            });
            break;
          case "map":
            for (const key of sortedKeys(val.entries)) {
              ran = true;
              oneIteration(str(key), val.entries.get(key)!);
            }
            break;
          case "int": {
            this.at(r.pos);
            if (decl.length > 1)
              this.errorf(`can't use ${formatValue(val)} to iterate over more than one variable`);
            const n = val.v;
            for (let i = 0n; i < n; i++) {
              ran = true;
              oneIteration(INVALID, int(i, val.t));
            }
            break;
          }
          case "invalid":
          case "nil":
            break;
          default:
            this.at(r.pos);
            this.errorf(
              `range can't iterate over ${formatValue(val)}`,
              "range works on lists, maps and integers",
            );
        }
      } catch (e) {
        if (e !== BREAK) throw e;
        return;
      }
      if (!ran && r.elseList) this.walkList(dot, r.elseList);
    } finally {
      this.pop(outer);
    }
  }

  private walkTemplate(t: TemplateNode, dot: GoValue): void {
    this.at(t.pos);
    const tmpl = this.t.templates.get(t.name);
    if (!tmpl) {
      this.errorf(
        `template ${JSON.stringify(t.name)} not defined`,
        'define it with {{define "name"}}…{{end}} in the same file',
      );
    }
    if (this.depth >= MAX_TEMPLATE_DEPTH) {
      this.errorf(
        `exceeded maximum template depth (${MAX_TEMPLATE_DEPTH})`,
        "a {{template}} calls itself without end",
      );
    }
    const newDot = t.pipe ? this.evalPipeline(dot, t.pipe) : INVALID;
    const savedVars = this.vars;
    this.vars = [{ name: "$", value: newDot }];
    this.depth++;
    try {
      this.walkList(newDot, tmpl);
    } finally {
      this.depth--;
      this.vars = savedVars;
    }
  }

  // -------- evaluation

  evalPipeline(dot: GoValue, pipe: PipeNode): GoValue {
    this.at(pipe.pos);
    let value: Final = MISSING;
    for (const cmd of pipe.cmds) {
      this.step();
      value = unwrapNil(this.evalCommand(dot, cmd, value));
    }
    const result = value === MISSING ? INVALID : value;
    for (const v of pipe.decl) {
      if (pipe.isAssign) {
        this.at(v.pos);
        this.setVar(v.ident[0]!, result);
      } else this.vars.push({ name: v.ident[0]!, value: result });
    }
    return result;
  }

  private notAFunction(args: readonly ArgNode[] | null, final: Final): void {
    if ((args && args.length > 1) || final !== MISSING) {
      const first = args?.[0];
      this.errorf(`can't give argument to non-function ${first ? this.nodeText(first) : ""}`);
    }
  }

  private nodeText(n: { pos: number; end: number }): string {
    return this.t.source.slice(n.pos, n.end);
  }

  private evalCommand(dot: GoValue, cmd: CommandNode, final: Final): GoValue {
    const first = cmd.args[0]!;
    switch (first.type) {
      case "field":
        return this.evalFieldNode(dot, first, cmd.args, final);
      case "chain":
        return this.evalChainNode(dot, first, cmd.args, final);
      case "identifier":
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case "pipe":
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case "variable":
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first.pos);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case "bool":
        return bool(first.value);
      case "dot":
        return dot;
      case "nil":
        return this.errorf("nil is not a command");
      case "number":
        return this.idealConstant(first);
      case "string":
        return str(first.text);
    }
  }

  private idealConstant(n: NumberNode): GoValue {
    this.at(n.pos);
    const isHexInt = /^[+-]?0[xX]/.test(n.text) && !/[pP]/.test(n.text);
    const isRune = n.text.startsWith("'");
    if (n.isFloat && !isHexInt && !isRune && /[.eEpP]/.test(n.text)) return float(n.float);
    if (n.isInt) return int(n.int);
    if (n.isUint) return this.errorf(`${n.text} overflows int`);
    return INVALID;
  }

  private evalFieldNode(
    dot: GoValue,
    field: FieldNode,
    args: readonly ArgNode[] | null,
    final: Final,
  ): GoValue {
    this.at(field.pos);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  private evalChainNode(
    dot: GoValue,
    chain: ChainNode,
    args: readonly ArgNode[] | null,
    final: Final,
  ): GoValue {
    this.at(chain.pos);
    if (chain.node.type === "nil") this.errorf(`indirection through explicit nil in ${this.nodeText(chain)}`);
    const pipe = this.evalUntyped(dot, chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  private evalVariableNode(
    dot: GoValue,
    v: VariableNode,
    args: readonly ArgNode[] | null,
    final: Final,
  ): GoValue {
    this.at(v.pos);
    const value = this.varValue(v.ident[0]!);
    if (v.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  private evalFieldChain(
    dot: GoValue,
    receiver0: GoValue,
    node: { pos: number; end: number },
    ident: readonly string[],
    args: readonly ArgNode[] | null,
    final: Final,
  ): GoValue {
    let receiver = receiver0;
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i]!, node, null, MISSING, receiver);
    return this.evalField(dot, ident[n - 1]!, node, args, final, receiver);
  }

  private evalFunction(
    dot: GoValue,
    node: IdentifierNode,
    cmd: { pos: number; end: number },
    args: readonly ArgNode[] | null,
    final: Final,
  ): GoValue {
    this.at(node.pos);
    const f = this.funcs[node.name];
    if (!f || !Object.hasOwn(this.funcs, node.name)) {
      return this.errorf(`${JSON.stringify(node.name)} is not a defined function`);
    }
    return this.evalCall(dot, f, cmd, node.name, args, final);
  }

  private evalField(
    dot: GoValue,
    name: string,
    node: { pos: number; end: number },
    args: readonly ArgNode[] | null,
    final: Final,
    receiver: GoValue,
  ): GoValue {
    if (receiver.k === "invalid") return INVALID;
    if (receiver.k === "nil") return this.errorf(`nil pointer evaluating interface {}.${name}`);
    if (receiver.k === "semver") {
      const method = semverMethod(receiver.ver, name);
      if (method) return this.evalCall(dot, method, node, name, args, final);
    }
    const hasArgs = (args !== null && args.length > 1) || final !== MISSING;
    if (receiver.k === "map") {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      return receiver.entries.get(name) ?? INVALID;
    }
    return this.errorf(`can't evaluate field ${name} in type ${typeName(receiver)}`);
  }

  private evalCall(
    dot: GoValue,
    f: GoFunc,
    node: { pos: number; end: number },
    name: string,
    argNodes: readonly ArgNode[] | null,
    final: Final,
  ): GoValue {
    const args = argNodes ? argNodes.slice(1) : [];
    let numIn = args.length;
    if (final !== MISSING) numIn++;
    let numFixed = args.length;
    if (f.variadic !== undefined) {
      numFixed = f.params.length;
      if (numIn < numFixed) {
        this.errorf(`wrong number of args for ${name}: want at least ${f.params.length} got ${args.length}`);
      }
    } else if (numIn !== f.params.length) {
      this.errorf(`wrong number of args for ${name}: want ${f.params.length} got ${numIn}`);
    }

    if (f.special === "and" || f.special === "or") {
      let v: GoValue = INVALID;
      for (const arg of args) {
        v = unwrapNil(this.evalArg(dot, "value", arg));
        if (truth(v) === (f.special === "or")) return v;
      }
      if (final !== MISSING) v = unwrapNil(this.validateType(final, "value"));
      return v;
    }

    const argv: GoValue[] = [];
    let i = 0;
    for (; i < numFixed && i < args.length; i++) argv.push(this.evalArg(dot, f.params[i]!, args[i]!));
    if (f.variadic !== undefined)
      for (; i < args.length; i++) argv.push(this.evalArg(dot, f.variadic, args[i]!));
    if (final !== MISSING) {
      let t: ParamType;
      if (f.variadic !== undefined) t = numIn - 1 < numFixed ? f.params[numIn - 1]! : f.variadic;
      else t = f.params[f.params.length - 1]!;
      argv.push(this.validateType(final, t));
    }
    this.charge(argv);
    try {
      return f.fn(argv);
    } catch (e) {
      if (e instanceof FuncError || e instanceof LimitError) {
        this.at(node.pos);
        this.errorf(`error calling ${name}: ${e.message}`, e instanceof FuncError ? e.hint : undefined);
      }
      throw e;
    }
  }

  private validateType(value: GoValue, t: ParamType): GoValue {
    if (value.k === "invalid" || value.k === "nil") {
      if (t === "any") return NIL;
      if (t === "value") return INVALID;
      if (t === "map") return nilMap();
      if (t === "semver") return NIL;
      const hint =
        value.k === "invalid"
          ? `the value is missing (an undefined key such as .NAME gives no value); define it, or guard it with default, e.g. {{ .NAME | default "" }}`
          : undefined;
      return this.errorf(`invalid value; expected ${goTypeName(t)}`, hint);
    }
    if (!assignable(value, t))
      this.errorf(`wrong type for value; expected ${goTypeName(t)}; got ${typeName(value)}`);
    return value;
  }

  /** evalArg with no type (chain receivers): computed values as they are. */
  private evalUntyped(dot: GoValue, n: ArgNode): GoValue {
    this.at(n.pos);
    switch (n.type) {
      case "dot":
        return dot;
      case "field":
        return this.evalFieldNode(dot, n, [n], MISSING);
      case "variable":
        return this.evalVariableNode(dot, n, null, MISSING);
      case "pipe":
        return this.evalPipeline(dot, n);
      case "identifier":
        return this.evalFunction(dot, n, n, null, MISSING);
      case "chain":
        return this.evalChainNode(dot, n, null, MISSING);
      default:
        return this.evalEmptyInterface(dot, n);
    }
  }

  private evalArg(dot: GoValue, t: ParamType, n: ArgNode): GoValue {
    this.at(n.pos);
    switch (n.type) {
      case "dot":
        return this.validateType(dot, t);
      case "nil":
        if (canBeNil(t)) return t === "value" ? INVALID : t === "map" ? nilMap() : NIL;
        return this.errorf(`cannot assign nil to ${goTypeName(t)}`);
      case "field":
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), t);
      case "variable":
        return this.validateType(this.evalVariableNode(dot, n, null, MISSING), t);
      case "pipe":
        return this.validateType(this.evalPipeline(dot, n), t);
      case "identifier":
        return this.validateType(this.evalFunction(dot, n, n, null, MISSING), t);
      case "chain":
        return this.validateType(this.evalChainNode(dot, n, null, MISSING), t);
    }
    const found = this.nodeText(n);
    switch (t) {
      case "bool":
        if (n.type === "bool") return bool(n.value);
        return this.errorf(`expected bool; found ${found}`);
      case "float64":
        if (n.type === "number" && n.isFloat) return float(n.float);
        return this.errorf(`expected float; found ${found}`);
      case "int":
      case "int64":
        if (n.type === "number" && n.isInt) return int(n.int, t);
        return this.errorf(`expected integer; found ${found}`);
      case "string":
        if (n.type === "string") return str(n.text);
        return this.errorf(`expected string; found ${found}`);
      case "any":
      case "value":
        return this.evalEmptyInterface(dot, n);
      default:
        return this.errorf(`can't handle ${found} for arg of type ${goTypeName(t)}`);
    }
  }

  private evalEmptyInterface(_dot: GoValue, n: ArgNode): GoValue {
    this.at(n.pos);
    switch (n.type) {
      case "bool":
        return bool(n.value);
      case "number":
        return this.idealConstant(n);
      case "string":
        return str(n.text);
      default:
        return this.errorf(`can't handle assignment of ${this.nodeText(n)} to empty interface argument`);
    }
  }

  /** Where the executor is, for errors raised outside its own checks. */
  get position(): number {
    return this.pos;
  }
}

/** The data map (map[string]string) as a Go value. */
export function dataValue(data: Readonly<Record<string, string>>): GoValue {
  const m = new Map<string, GoValue>();
  for (const key of Object.keys(data)) {
    const v = data[key];
    if (typeof v === "string") m.set(key, str(v));
  }
  return dict(m, "string");
}
