/**
 * Go `text/template` with sprig's hermetic functions, as bldr renders pkg.yaml, vars.yaml and
 * *.tmpl: the whole file is rendered before YAML parsing, data is a map[string]string, a
 * missing key prints `<no value>`. Every byte outside actions is kept, and each output offset
 * maps back to the template position that produced it (so YAML errors can point at the file the
 * user wrote). Errors are TalosExtError with code TEMPLATE_PARSE or TEMPLATE_EXEC; nothing else
 * is thrown for any input.
 */
import { didYouMean, TalosExtError } from "../errors.ts";
import { lineColumn, lineStarts } from "../text-position.ts";
import type { PositionMapper } from "../yaml/decode.ts";
import { builtins } from "./builtins.ts";
import { dataValue, Executor, Output, TemplateExecError } from "./exec.ts";
import type { FuncMap } from "./funcs.ts";
import { type FunctionRef, type Node, parse, TemplateSyntaxError } from "./parse.ts";
import { sprigFuncs } from "./sprig.ts";

/** Template data: bldr renders with a `map[string]string`, so `.NAME` is a map lookup. */
export type TemplateData = Record<string, string>;

/** Which functions a template may call (see {@link RenderOptions.functions}). */
export type FunctionSet = "sprig" | "plain";

/** Options of {@link renderTemplate}. */
export interface RenderOptions {
  /** Used in error locations. */
  file: string;
  /** "sprig" (default): sprig's hermetic functions + Go's built-ins; "plain": Go's built-ins only (bldr eval). */
  functions?: FunctionSet;
}

/** What {@link renderTemplate} and {@link executeTemplate} return. */
export interface RenderResult {
  /** The rendered text. */
  output: string;
  /** Maps an offset in `output` to the 1-based line/column in the template source that produced it. */
  mapPosition: PositionMapper;
}

/** A parsed template, reusable for several executions. */
export interface ParsedTemplate {
  /** The file name errors name (as given to `parseTemplate`). */
  readonly file: string;
  /** The template's text. */
  readonly source: string;
  /** @internal The parsed bodies by template name (the file's own and every `define`). */
  readonly templates: ReadonlyMap<string, Node[]>;
  /** @internal Every function the template calls, checked against a function set before it runs. */
  readonly functionRefs: readonly FunctionRef[];
  /** @internal Offsets where each line of `source` starts, for 1-based positions in errors. */
  readonly lineStarts: readonly number[];
}

const PLAIN: FuncMap = builtins;
const SPRIG: FuncMap = { ...builtins, ...sprigFuncs };

const functionMap = (set: FunctionSet | undefined): FuncMap => (set === "plain" ? PLAIN : SPRIG);
const hasFunction = (funcs: FuncMap) => (name: string) => Object.hasOwn(funcs, name);

function location(t: { file: string; lineStarts: readonly number[] }, pos: number) {
  return { file: t.file, ...lineColumn(t.lineStarts, pos) };
}

function unknownFunctionHint(name: string, funcs: FuncMap): string {
  const guess = didYouMean(name, Object.keys(funcs));
  const base = guess ? `did you mean "${guess}"? ` : "";
  return `${base}bldr offers Go's template built-ins and sprig's hermetic functions (sprig v3.3.0)`;
}

function parseError(
  e: TemplateSyntaxError,
  t: { file: string; lineStarts: readonly number[] },
  funcs: FuncMap,
): TalosExtError {
  const m = /^function "(.*)" not defined$/.exec(e.message);
  const hint =
    e.hint ?? (m ? unknownFunctionHint(m[1]!, funcs) : "fix the template syntax here (Go text/template)");
  return new TalosExtError({
    code: "TEMPLATE_PARSE",
    message: e.message,
    hint,
    location: location(t, e.pos),
    cause: e,
  });
}

/** Parses a template; throws TalosExtError TEMPLATE_PARSE on syntax errors. */
export function parseTemplate(
  source: string,
  options: {
    /** Used in error locations. */
    file: string;
    /** "sprig" (default): sprig's hermetic functions + Go's built-ins; "plain": Go's built-ins only (bldr eval). */
    functions?: FunctionSet;
  },
): ParsedTemplate {
  const file = options.file;
  const starts = lineStarts(source);
  const funcs = functionMap(options.functions);
  try {
    const { templates, functionRefs } = parse(source, file, hasFunction(funcs));
    return { file, source, templates, functionRefs, lineStarts: starts };
  } catch (e) {
    const t = { file, lineStarts: starts };
    if (e instanceof TemplateSyntaxError) throw parseError(e, t, funcs);
    throw new TalosExtError({
      code: "TEMPLATE_PARSE",
      message: `template could not be parsed: ${e instanceof Error ? e.message : String(e)}`,
      hint: "simplify the template around this position",
      location: location(t, 0),
      cause: e,
    });
  }
}

function errorContext(source: string, pos0: number): string {
  let pos = pos0;
  // Actions are reported at their "{{"; show what follows it, as Go shows the node.
  const open = /^\{\{-?\s*/.exec(source.slice(pos, pos + 64));
  if (open) pos += open[0].length;
  let end = source.length;
  for (const stop of ["}}", "\n"]) {
    const i = source.indexOf(stop, pos);
    if (i >= 0 && i < end) end = i;
  }
  let ctx = source.slice(pos, end).replace(/\s*-?\s*$/, "");
  if ([...ctx].length > 20) ctx = `${[...ctx].slice(0, 20).join("")}...`;
  return ctx;
}

/** Executes a parsed template with `data`; throws TalosExtError TEMPLATE_EXEC on execution errors. */
export function executeTemplate(
  t: ParsedTemplate,
  data: TemplateData,
  options: {
    /**
     * The functions the template may call, "sprig" (default) or "plain", as for
     * {@link parseTemplate}; a call to one outside the set is a TEMPLATE_PARSE error.
     */
    functions?: FunctionSet;
  } = {},
): RenderResult {
  const funcs = functionMap(options.functions);
  for (const ref of t.functionRefs) {
    if (!hasFunction(funcs)(ref.name)) {
      throw parseError(
        new TemplateSyntaxError(`function ${JSON.stringify(ref.name)} not defined`, ref.pos),
        t,
        funcs,
      );
    }
  }
  const out = new Output();
  const exec = new Executor({ name: t.file, source: t.source, templates: t.templates }, funcs, out);
  try {
    exec.execute(dataValue(data));
  } catch (e) {
    if (e instanceof TemplateExecError) {
      throw new TalosExtError({
        code: "TEMPLATE_EXEC",
        message: `at <${errorContext(t.source, e.pos)}>: ${e.message}`,
        hint: e.hint ?? "check the values and function arguments this action uses",
        location: location(t, e.pos),
        cause: e,
      });
    }
    const message = e instanceof Error ? e.message : String(e);
    throw new TalosExtError({
      code: "TEMPLATE_EXEC",
      message: `at <${errorContext(t.source, exec.position)}>: template execution failed: ${message}`,
      hint: "the template needs too much memory, output or recursion; simplify it",
      location: location(t, exec.position),
      cause: e,
    });
  }
  const output = out.toString();
  const starts = t.lineStarts;
  return { output, mapPosition: (offset) => lineColumn(starts, out.sourceOffset(offset)) };
}

/** Parses and executes `source` as bldr does (Go text/template + sprig hermetic functions by default). */
export function renderTemplate(source: string, data: TemplateData, options: RenderOptions): RenderResult {
  const t = parseTemplate(
    source,
    options.functions ? { file: options.file, functions: options.functions } : { file: options.file },
  );
  return executeTemplate(t, data, options.functions ? { functions: options.functions } : {});
}
