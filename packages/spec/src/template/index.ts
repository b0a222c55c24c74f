/**
 * Go `text/template` with sprig's hermetic functions, as bldr renders pkg.yaml, vars.yaml and
 * *.tmpl (implementation in render.ts), and Go regular expressions (goregex.ts).
 */
export type { GoRegexp } from "./goregex.ts";
export { compileGoRegex, expandGoReplacement, goRegexReplaceAll } from "./goregex.ts";
export {
  executeTemplate,
  type FunctionSet,
  type ParsedTemplate,
  parseTemplate,
  type RenderOptions,
  type RenderResult,
  renderTemplate,
  type TemplateData,
} from "./render.ts";
