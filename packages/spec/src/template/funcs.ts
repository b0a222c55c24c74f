/**
 * How template functions are declared: each has Go parameter types, which decide how arguments
 * are checked and converted exactly as text/template's evalArg/validateType do (a missing key
 * passed where a `string` is wanted is "invalid value; expected string"; an int64 where an `int`
 * is wanted is "wrong type for value"). Errors a Go function would return or panic with are
 * thrown as FuncError and reported as "error calling NAME: …".
 */
import type { GoValue } from "./values.ts";

/** The Go parameter types our functions use. */
export type ParamType =
  | "string"
  | "int"
  | "int64"
  | "float64"
  | "bool"
  /** interface{} */
  | "any"
  /** reflect.Value (builtins such as eq, index, and) */
  | "value"
  /** map[string]interface{} */
  | "map"
  /** *semver.Version */
  | "semver";

export interface GoFunc {
  readonly params: readonly ParamType[];
  readonly variadic?: ParamType;
  readonly fn: (args: GoValue[]) => GoValue;
  /** Builtins with special evaluation. */
  readonly special?: "and" | "or";
  /** Present in sprig's hermetic map but not implemented here (non-deterministic or crypto). */
  readonly unsupported?: boolean;
}

export type FuncMap = Readonly<Record<string, GoFunc>>;

/** An error returned (or a panic raised) by a Go function. */
export class FuncError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/** A result that would exceed our size limits (Go would try to allocate it). */
export class LimitError extends Error {}

export const MAX_STRING = 4 * 1024 * 1024;
export const MAX_LIST = 1_000_000;

export function checkSize(n: number, what = "result"): void {
  if (!(n <= MAX_STRING))
    throw new LimitError(`${what} too large (${n} characters; the limit is ${MAX_STRING})`);
}

export const goTypeName = (t: ParamType): string =>
  t === "any"
    ? "interface {}"
    : t === "value"
      ? "reflect.Value"
      : t === "map"
        ? "map[string]interface {}"
        : t === "semver"
          ? "*semver.Version"
          : t;

/** Whether a (valid) value is assignable to the parameter type. */
export function assignable(v: GoValue, t: ParamType): boolean {
  switch (t) {
    case "any":
    case "value":
      return true;
    case "string":
      return v.k === "string";
    case "int":
    case "int64":
      return v.k === "int" && v.t === t;
    case "float64":
      return v.k === "float";
    case "bool":
      return v.k === "bool";
    case "map":
      return v.k === "map" && v.elem === "interface {}";
    case "semver":
      return v.k === "semver";
  }
}

/** reflect's canBeNil for our parameter types. */
export const canBeNil = (t: ParamType): boolean =>
  t === "any" || t === "value" || t === "map" || t === "semver";

export function fn(
  params: readonly ParamType[],
  body: (args: GoValue[]) => GoValue,
  variadic?: ParamType,
): GoFunc {
  return variadic === undefined ? { params, fn: body } : { params, variadic, fn: body };
}
