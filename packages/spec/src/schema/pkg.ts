/**
 * `pkg.yaml` (bldr v1alpha2 `Pkg`), decoded leniently like bldr's yaml decoder and validated with
 * the messages of bldr's `Pkg.Validate()`; see the bldr-format.md fact sheet, §5.
 */
import type { DecodedYaml } from "../yaml/decode.ts";
import { type DecodeResult, decodeWithSchema } from "./engine.ts";
import {
  ALWAYS,
  emptyIfNull,
  goBool,
  goEnum,
  goEnumDefault,
  goList,
  goMap,
  goQuote,
  goString,
  goStruct,
  type IssueSink,
  isRecord,
  optionalIfNull,
  report,
  text,
  zeroIfNull,
} from "./go.ts";

/** The platforms bldr builds for. */
export const PLATFORMS = ["linux/amd64", "linux/arm64"] as const;
/** One of {@link PLATFORMS}. */
export type Platform = (typeof PLATFORMS)[number];
/** The bases a package builds on: `alpine` (with apk) or an empty `scratch`. */
export const VARIANTS = ["alpine", "scratch"] as const;
/** One of {@link VARIANTS}. */
export type Variant = (typeof VARIANTS)[number];
/** The `network` modes of a step's script RUNs; bldr's default is `none`. */
export const NETWORK_MODES = ["none", "default", "host"] as const;
/** A step's `network` mode. */
export type Network = (typeof NETWORK_MODES)[number];

/**
 * One `dependencies` entry of a pkg.yaml: another package of the tree (`stage`) or an image, whose files are
 * merged into the build.
 */
export interface Dependency {
  /** Internal dependency: the `name` of another package in the tree (checked when the graph resolves). */
  stage?: string;
  /** External dependency: an image reference; only its filesystem is used, its config is ignored. */
  image?: string;
  /** Path inside the dependency to copy from; bldr's default is `/`. */
  from?: string;
  /**
   * Where the copied files go in this build; bldr's default is `/`, but the raw text is part of the dedupe
   * id.
   */
  to?: string;
  /** Pull the image for, or rebuild the stage on, this platform instead of the build platform. */
  platform?: Platform;
  /** Also merged into every package that depends on this one, transitively. */
  runtime: boolean;
}
/**
 * A `sources` entry: a file downloaded into the step's working directory and checked against both digests.
 */
export interface Source {
  /** Where to download from (templated, e.g. with `{{ .VERSION }}`). */
  url: string;
  /** File name in the step directory (a plain name, not a sub-path). */
  destination: string;
  /** Hex SHA-256 of the file (bldr checks only that it has 64 characters). */
  sha256: string;
  /** Hex SHA-512 of the file (bldr checks only that it has 128 characters). */
  sha512: string;
}
/** A step's `sbom`: an SPDX JSON file written into the rootfs after the step's scripts. */
export interface Sbom {
  /** Absolute path of the SPDX file; empty writes nothing. */
  outputPath?: string;
  /** Package name in the SBOM; default the pkg `name`. */
  name?: string;
  /** Version in the SBOM. */
  version?: string;
  /** CPE 2.3 strings; bldr silently writes no SBOM when one fails to parse. */
  cpes?: string[];
  /** Package URL (purl). */
  purl?: string;
  /** License ids. */
  licenses?: string[];
}
/** One build step: sources to fetch, then scripts in phases, with its env, caches and network. */
export interface Step {
  /** Files to download into the step's working directory before its scripts. */
  sources: Source[];
  /** Env vars for this step and every later one (kept as text; not template variables). */
  env: Record<string, string>;
  /** Persistent cache mounts for this step's script RUNs only. */
  cachePaths: string[];
  /** Phase 1 script instructions, each its own RUN (`cd` and `export` do not carry over). */
  prepare: string[];
  /** Phase 2 script instructions, each its own RUN. */
  build: string[];
  /** Phase 3 script instructions. */
  install: string[];
  /** Phase 4, detached: failure fails the build but its filesystem changes are dropped. */
  test: string[];
  /** Network for this step's script RUNs; bldr's default is `none`. */
  network: Network;
  /** Writes an SPDX SBOM after the step's scripts when `outputPath` is set. */
  sbom?: Sbom;
}
/** One `finalize` entry: what of the finished build goes into the package's output image. */
export interface Finalize {
  /**
   * Path in the finished build; relative paths are against the build's working dir (`/tmp/build` with steps,
   * else `/pkg`).
   */
  from?: string;
  /** Destination in the output image, relative to its `/`. */
  to?: string;
}
/** A decoded pkg.yaml (bldr v1alpha2 `Pkg`), Go zero values filled in. */
export interface Pkg {
  /** Package id: `stage:` references, `--target`, `PKG_NAME`, the default SBOM name. */
  name: string;
  /** The base of the build: `alpine` or an empty `scratch`. */
  variant: Variant;
  /** Program that runs every script instruction as `<shell> -c`; default `/bin/sh`. */
  shell: string;
  /** Package names given to `apk add` after dependencies are merged (whatever the variant). */
  install: string[];
  /** Stages and images merged into the build before `install` runs. */
  dependencies: Dependency[];
  /** Build steps, in order; env and files carry over from one to the next. */
  steps: Step[];
  /** What of the finished build goes into the output image; empty with steps means an empty image. */
  finalize: Finalize[];
  /**
   * Pins the platform the build runs on (cross-compiling); read only from the package at the top of a solve.
   */
  buildPlatform?: Platform;
}

const stringList = (goType: string, description: string, hint?: string) =>
  emptyIfNull(goList(goString(), { goType, description, ...(hint === undefined ? {} : { hint }) }), () => []);

// ---------------------------------------------------------------------------------------------
// dependencies[]

const dependencySchema = goStruct(
  {
    stage: goString("Internal dependency: the `name` of another package in this tree.").optional(),
    image: goString(
      "External dependency: an image reference (tag and/or @sha256 digest); only its filesystem is used.",
    ).optional(),
    from: goString("Path inside the dependency to copy from; bldr uses / when unset.").optional(),
    to: goString("Where to put it in this build; bldr uses / when unset.").optional(),
    platform: goEnum(PLATFORMS, {
      message: (p) => `platform ${goQuote(p)} not supported`,
      emptyIsUnset: true,
      hint: `use ${PLATFORMS.join(" or ")}, or leave it out to use the build platform`,
      description: "Pull the image for, or rebuild the stage on, this platform.",
    }),
    runtime: goBool("Runtime dependency: packages that depend on this package pull it in too.").default(
      false,
    ),
  },
  {
    goType: "v1alpha2.Dependency",
    owner: "bldr",
    label: "dependency",
    description: "A dependency: set exactly one of `stage` or `image`.",
  },
).superRefine((d, ctx) => validateDependency(d, ctx), ALWAYS);

const DEPENDENCY_KIND_HINT =
  "set exactly one of `stage:` (a package in this tree) or `image:` (an image reference) in each dependency";

function validateDependency(d: unknown, ctx: IssueSink): void {
  if (!isRecord(d)) return;
  const image = d.image === undefined ? "" : text(d.image);
  const stage = d.stage === undefined ? "" : text(d.stage);
  if (image === undefined || stage === undefined) return; // a type error was already reported
  if (image !== "" && stage !== "") {
    report(
      ctx,
      [],
      "SCHEMA_DEPENDENCY_KIND",
      `dependency can't have both image & stage set: ${goQuote(image)}, ${goQuote(stage)}`,
      DEPENDENCY_KIND_HINT,
    );
  } else if (image === "" && stage === "") {
    report(
      ctx,
      [],
      "SCHEMA_DEPENDENCY_KIND",
      "either image or stage should be set for the dependency",
      DEPENDENCY_KIND_HINT,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// steps[].sources[]

const sourceSchema = goStruct(
  {
    url: goString("URL to download.").default(""),
    destination: goString("File name in the step's working directory (/tmp/build).").default(""),
    sha256: goString("SHA-256 of the file, 64 hex characters; enforced by the download itself.").default(""),
    sha512: goString("SHA-512 of the file, 128 hex characters; checked after the download.").default(""),
  },
  {
    goType: "v1alpha2.Source",
    owner: "bldr",
    label: "source",
    required: ["url", "destination", "sha256", "sha512"],
    description: "A file downloaded into the step's working directory before its scripts run.",
  },
).superRefine((s, ctx) => validateSource(s, ctx), ALWAYS);

const utf8 = new TextEncoder();

// The few inputs Go's url.Parse rejects; it accepts almost anything else.
function goUrlParseError(url: string): string | undefined {
  const quoted = `parse ${goQuote(url)}`;
  if (/[\x00-\x1f\x7f]/.test(url)) return `${quoted}: net/url: invalid control character in URL`;
  if (url.startsWith(":")) return `${quoted}: missing protocol scheme`;
  return undefined;
}

function validateSource(s: unknown, ctx: IssueSink): void {
  if (!isRecord(s)) return;
  const url = text(s.url);
  if (url === "") {
    report(
      ctx,
      ["url"],
      "SCHEMA_REQUIRED",
      "source.url can't be empty",
      "set `url:` to the address to download",
    );
  } else if (url !== undefined) {
    const problem = goUrlParseError(url);
    if (problem) {
      report(
        ctx,
        ["url"],
        "SCHEMA_INVALID_VALUE",
        `error parsing source.url ${goQuote(url)}: ${problem}`,
        "fix the URL",
      );
    }
  }
  if (text(s.destination) === "") {
    report(
      ctx,
      ["destination"],
      "SCHEMA_REQUIRED",
      "source.destination can't be empty",
      "set `destination:` to a plain file name, e.g. the last part of the URL",
    );
  }
  for (const [key, length] of [
    ["sha256", 64],
    ["sha512", 128],
  ] as const) {
    const sum = text(s[key]);
    if (sum === "") {
      report(
        ctx,
        [key],
        "SCHEMA_REQUIRED",
        `source.${key} can't be empty`,
        `set \`${key}:\` to the file's ${key} checksum (\`${key}sum <file>\`)`,
      );
    } else if (sum !== undefined && utf8.encode(sum).length !== length) {
      report(
        ctx,
        [key],
        "SCHEMA_CHECKSUM_LENGTH",
        `source.${key} should be ${length} chars long`,
        `a ${key} checksum is ${length} hex characters; this one has ${utf8.encode(sum).length}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// steps[]

const SCRIPT_HINT =
  "script phases are YAML lists since bldr v1alpha2 (a single string was the v1alpha1 form); " +
  "write each command as a list item: `build:` then `  - |` and the script";

const script = (phase: string, description: string) =>
  emptyIfNull(
    goList(goString(), {
      goType: "v1alpha2.Instructions",
      hint: SCRIPT_HINT,
      description: `${phase}: ${description}`,
    }),
    () => [],
  );

const sbomSchema = goStruct(
  {
    outputPath: goString(
      "Absolute path of the SPDX JSON file to write; nothing is written when empty.",
    ).optional(),
    name: goString("Package name in the SBOM; defaults to the pkg name.").optional(),
    version: goString("Package version in the SBOM.").optional(),
    cpes: optionalIfNull(
      goList(goString(), {
        goType: "[]string",
        description: "CPE 2.3 strings; one that does not parse silently drops the SBOM.",
      }),
    ),
    purl: goString("Package URL.").optional(),
    licenses: optionalIfNull(goList(goString(), { goType: "[]string", description: "License identifiers." })),
  },
  {
    goType: "v1alpha2.SBOMStep",
    owner: "bldr",
    label: "sbom",
    description: "SBOM written after the step's scripts.",
  },
);

const stepSchema = goStruct(
  {
    sources: emptyIfNull(
      goList(zeroIfNull(sourceSchema), {
        goType: "v1alpha2.Sources",
        description: "Files to download into /tmp/build.",
      }),
      () => [],
    ),
    env: emptyIfNull(
      goMap(goString(), {
        goType: "v1alpha2.Environment",
        description: "Environment for this step and every later step; values are kept as text.",
      }),
      () => ({}),
    ),
    cachePaths: stringList("[]string", "Persistent cache mounts for this step's script runs."),
    prepare: script("Phase 1", "script instructions, each run as its own `<shell> -c`."),
    build: script("Phase 2", "script instructions."),
    install: script("Phase 3", "script instructions."),
    test: script("Phase 4", "detached script instructions: they must pass, but their changes are discarded."),
    network: goEnumDefault(NETWORK_MODES, "none", {
      message: (v) => `unknown networkmode ${goQuote(v)}`,
      hint: "use none (the default), default or host",
      description: "Network for this step's script runs.",
    }),
    sbom: optionalIfNull(sbomSchema),
  },
  { goType: "v1alpha2.Step", owner: "bldr", label: "step", description: "A build step." },
);

const finalizeSchema = goStruct(
  {
    from: goString(
      "Path in the finished build; relative to the working dir (/tmp/build, or /pkg without steps).",
    ).optional(),
    to: goString("Destination in the output image.").optional(),
  },
  {
    goType: "v1alpha2.Finalize",
    owner: "bldr",
    label: "finalize entry",
    description: "A copy into the output image.",
  },
);

// ---------------------------------------------------------------------------------------------
// the package

const pkgFields = goStruct(
  {
    name: goString("Package id, used by `stage:` references and --target.").default(""),
    variant: goEnum(VARIANTS, {
      message: (v) => `unknown variant ${goQuote(v)}`,
      hint: "use alpine (Alpine base with apk) or scratch (empty base)",
      description: "Base of the build: alpine or scratch.",
    }),
    shell: goString("Program that runs every script instruction; /bin/sh when unset or empty.")
      .default("")
      .transform((s) => s || "/bin/sh"),
    install: stringList("[]string", "Alpine packages installed with apk after the dependencies are merged."),
    dependencies: emptyIfNull(
      goList(zeroIfNull(dependencySchema), {
        goType: "v1alpha2.Dependencies",
        description: "Images and stages merged into the build.",
      }),
      () => [],
    ),
    steps: emptyIfNull(
      goList(zeroIfNull(stepSchema), { goType: "v1alpha2.Steps", description: "Build steps, in order." }),
      () => [],
    ),
    finalize: emptyIfNull(
      goList(zeroIfNull(finalizeSchema), {
        goType: "[]v1alpha2.Finalize",
        description: "Copies from the build into the output image.",
      }),
      () => [],
    ),
    buildPlatform: goEnum(PLATFORMS, {
      message: (p) => `buildPlatform ${goQuote(p)} is not supported`,
      emptyIsUnset: true,
      reportedByParent: true,
      description:
        "Platform the build runs on (cross-compiling); only read for the package at the top of a solve.",
    }),
  },
  {
    goType: "v1alpha2.Pkg",
    owner: "bldr",
    label: "pkg.yaml",
    required: ["name", "variant"],
  },
).superRefine((p, ctx) => validatePkg(p, ctx), ALWAYS);

function validatePkg(p: unknown, ctx: IssueSink): void {
  if (!isRecord(p)) return;
  const name = text(p.name);
  if (name === "") {
    report(ctx, ["name"], "SCHEMA_REQUIRED", "package name can't be empty", "set `name:` to the package id");
  }
  if (p.variant === undefined) {
    report(
      ctx,
      ["variant"],
      "SCHEMA_REQUIRED",
      "variant should be set",
      "add `variant: alpine` (Alpine base with apk) or `variant: scratch` (empty base)",
    );
  }
  if (Array.isArray(p.steps) && p.steps.length > 0 && Array.isArray(p.finalize) && p.finalize.length === 0) {
    report(
      ctx,
      ["steps"],
      "SCHEMA_FINALIZE_MISSING",
      "finalize steps are missing, this is going to lead to empty build",
      "add `finalize:` entries (`- from: /rootfs` / `  to: /`) that copy the build's results into the image",
      "key",
    );
  }
  const platform = p.buildPlatform;
  if (typeof platform === "string" && !(PLATFORMS as readonly string[]).includes(platform)) {
    report(
      ctx,
      ["buildPlatform"],
      "SCHEMA_INVALID_VALUE",
      `package ${goQuote(name ?? "")}: buildPlatform ${goQuote(platform)} is not supported`,
      `use ${PLATFORMS.join(" or ")}`,
    );
  }
}

/** The pkg.yaml schema: input = what may be written, output = `Pkg` with bldr's defaults applied. */
export const pkgSchema = zeroIfNull(pkgFields).transform(
  (p): Pkg => ({ ...p, variant: p.variant as Variant }),
);

/**
 * Decodes a rendered pkg.yaml as bldr does and validates it with bldr's messages; errors are diagnostics,
 * never thrown.
 */
export function decodePkg(doc: DecodedYaml): DecodeResult<Pkg> {
  return decodeWithSchema(pkgSchema, doc);
}
