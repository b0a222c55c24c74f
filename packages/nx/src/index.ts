// The Nx plugin: nx.json `plugins: [{ "plugin": "@talos-ext/nx", "options": {...} }]`.

export { NX_ERROR_CODES, type NxErrorCode } from "./codes.ts";
// The generator lives in its own entry (generators.json), so loading the plugin never loads it.
export type { ExtensionGeneratorOptions } from "./generators/extension.ts";
export { summarizeTree } from "./plugin/cache.ts";
export { createDependencies, dependenciesOf, publishedName } from "./plugin/create-dependencies.ts";
export { createNodesV2, rootOf, TAGS } from "./plugin/create-nodes.ts";
export { type NormalizedOptions, normalizeOptions, type TalosExtPluginOptions } from "./plugin/options.ts";
export { PACKAGE_INPUT, packageNamedInput, pushRef, targetsFor } from "./plugin/targets.ts";
export type { PackageKind, TreePackage, TreeSummary, UnloadedPackage } from "./plugin/tree-packages.ts";
