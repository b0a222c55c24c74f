// The Nx plugin: nx.json `plugins: [{ "plugin": "@talos-ext/nx", "options": {...} }]`.

// The generator (also reachable as `nx g @talos-ext/nx:extension`).
export { default as extensionGenerator, type ExtensionGeneratorOptions } from "./generators/extension.ts";
export { createDependencies, dependenciesOf, publishedName } from "./plugin/create-dependencies.ts";
export { createNodesV2, rootOf, TAGS } from "./plugin/create-nodes.ts";
export { type NormalizedOptions, normalizeOptions, type TalosExtPluginOptions } from "./plugin/options.ts";
export { PACKAGE_INPUT, packageNamedInput, pushRef, targetsFor } from "./plugin/targets.ts";
export {
  type PackageKind,
  summarizeTree,
  type TreePackage,
  type TreeSummary,
} from "./plugin/tree-packages.ts";
