/** The plugin's options, as written in nx.json (`plugins[].options`). */
export interface TalosExtPluginOptions {
  /**
   * Directories, relative to the workspace root, that each hold a bldr tree (a `Pkgfile` at the
   * top). Every `pkg.yaml` below one becomes a project. Default `["extensions"]`.
   */
  roots?: string[];
  /** Command that runs the talos-ext CLI. Default `talos-ext` (the `@talos-ext/cli` binary). */
  cli?: string;
  /**
   * Nx project that builds the CLI, for a workspace that develops it (this repository): its
   * `build` runs before every target and its output is an input of their cache keys. Without it,
   * the version the CLI reports (`--version`) is the input.
   */
  cliProject?: string;
  /** Platforms `build` builds (comma list for the CLI). Default the CLI's default (the host's). */
  platforms?: string[];
  /** Where `build` writes; one OCI image layout per package below it. Default `dist/extensions`. */
  outputDir?: string;
  /**
   * Registry and repository prefix that `push` publishes to (`<registry>/<name>:<version>`), e.g.
   * `registry.example/talos`. Images of this tree referenced under it become graph edges.
   */
  registry?: string;
  /** Image prefix mirrors passed to `build` (`FROM=TO`, as `--mirror`). */
  mirrors?: string[];
}

/** Options with every default applied. */
export interface NormalizedOptions {
  /** The tree roots, without `./` in front or a slash at the end; empty entries dropped. */
  roots: string[];
  /** The command that runs the CLI (`talos-ext` unless set). */
  cli: string;
  /** The Nx project that builds the CLI, when the workspace develops it. */
  cliProject: string | undefined;
  /** Platforms `build` builds; empty: the CLI's default. */
  platforms: string[];
  /** Where `build` writes, relative to the workspace root, without a slash at the end. */
  outputDir: string;
  /** The push prefix without a slash at the end; undefined: `push` has nowhere to publish. */
  registry: string | undefined;
  /** Image prefix mirrors (`FROM=TO`) for `build`; empty: none. */
  mirrors: string[];
}

const trimSlashes = (p: string) => p.replace(/^\.\/+/, "").replace(/\/+$/, "");

/**
 * Applies the defaults to the options of nx.json (absent: all defaults), and trims paths the way
 * targets join them, so every caller (nodes, dependencies, cache keys) sees the same values.
 */
export function normalizeOptions(options: TalosExtPluginOptions | undefined): NormalizedOptions {
  const o = options ?? {};
  return {
    roots: (o.roots ?? ["extensions"]).map(trimSlashes).filter((r) => r !== ""),
    cli: o.cli ?? "talos-ext",
    cliProject: o.cliProject,
    platforms: o.platforms ?? [],
    outputDir: trimSlashes(o.outputDir ?? "dist/extensions"),
    registry: o.registry ? o.registry.replace(/\/+$/, "") : undefined,
    mirrors: o.mirrors ?? [],
  };
}
