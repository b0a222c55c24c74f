export { compareBytes } from "./fs-walk.ts";
export { loadTree } from "./load-tree.ts";
export { assertPlatform, buildArgVariables, builtinVariables, isPlatform, PLATFORMS } from "./platform.ts";
export { DEFAULT_MAX_INPUT_BYTES, type ReadTreeFileOptions, readTreeFile } from "./read-file.ts";
export type { LoadedPackage, LoadedTree, LoadMode, LoadTreeOptions, TemplatedFile } from "./types.ts";
