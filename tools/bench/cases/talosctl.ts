/**
 * talosctl: (a) parsing `talosctl get -o json` output of 10,000 resources with the package's
 * streaming splitter (fed in 64 KiB chunks, as from a pipe) against `JSON.parse` of the same
 * objects written as one array; (b) one call through the package (`get extensions` on one node
 * of the cluster double, output parsed) against a bare `execa` of exactly the same argv (output
 * buffered, not parsed): the difference is the wrapper's per-call overhead.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type DoubleResource, formatJsonResource } from "../../doubles/talosctl-format.ts";
import { compare, round3 } from "../lib.ts";
import { REPO_ROOT } from "../modules.ts";
import { type BenchCase, type CaseContext, type Row, ratio } from "../types.ts";

type TalosctlModule = typeof import("../../../packages/talosctl/src/index.ts");
/** The one execa call the baseline makes (execa is the package's dependency, not the tools'). */
type ExecaModule = {
  execa: (
    file: string,
    args: string[],
    options: { env: NodeJS.ProcessEnv; stdin: "ignore" },
  ) => Promise<unknown>;
};

const PARSE_AIM = 1.5;
const OVERHEAD_AIM_MS = 15;
const DOUBLE = join(REPO_ROOT, "tools/doubles/talosctl");

async function loadTalosctl(): Promise<TalosctlModule> {
  const url = process.env.BENCH_TALOSCTL_MODULE
    ? pathToFileURL(process.env.BENCH_TALOSCTL_MODULE).href
    : pathToFileURL(join(REPO_ROOT, "packages/talosctl/dist/index.js")).href;
  try {
    return (await import(url)) as TalosctlModule;
  } catch (cause) {
    throw new Error(`cannot import ${url}: ${(cause as Error).message}; build the packages first`, { cause });
  }
}

/** execa exactly as @talos-ext/talosctl resolves it. */
async function loadExeca(): Promise<ExecaModule> {
  const require = createRequire(join(REPO_ROOT, "packages/talosctl/package.json"));
  return (await import(pathToFileURL(require.resolve("execa")).href)) as ExecaModule;
}

function resource(i: number): DoubleResource {
  return {
    node: "10.5.0.2",
    metadata: {
      namespace: "runtime",
      type: "ExtensionStatuses.runtime.talos.dev",
      id: String(i),
      version: 1,
      owner: "runtime.ExtensionStatusController",
      phase: "running",
      created: "2026-08-01T10:00:00Z",
      updated: "2026-08-01T10:00:00Z",
    },
    spec: {
      image: `${i}.sqsh`,
      metadata: {
        name: `extension-${i}`,
        version: `1.${i % 100}.${i % 7}`,
        author: "Example Org",
        description: `[extra] Example extension number ${i} with a longer description & <markup>.\n`,
        compatibility: { talos: { version: ">= v1.10.0" } },
      },
    },
  };
}

async function parseRow(ctx: CaseContext, mod: TalosctlModule): Promise<Row> {
  const count = ctx.quick ? 1000 : 10_000;
  const pieces = Array.from({ length: count }, (_, i) => formatJsonResource(resource(i)));
  const stream = pieces.join("");
  const array = `[${pieces.join(",")}]`;
  const chunks: string[] = [];
  for (let at = 0; at < stream.length; at += 65_536) chunks.push(stream.slice(at, at + 65_536));
  ctx.note(`get -o json text: ${count} resources, ${(stream.length / 2 ** 20).toFixed(1)} MiB`);
  let parsed = 0;
  const t = await compare(
    [
      {
        name: "ours",
        run: async () => {
          const s = new mod.JsonObjectSplitter();
          parsed = 0;
          for (const c of chunks) parsed += s.push(c).length;
          s.end();
        },
      },
      { name: "JSON.parse", run: async () => JSON.parse(array) },
    ],
    { runs: Math.max(ctx.runs, 7), warmup: Math.max(ctx.warmup, 2), log: ctx.log },
  );
  if (parsed !== count) throw new Error(`the splitter found ${parsed} objects, expected ${count}`);
  const ours = t.get("ours")!;
  const base = t.get("JSON.parse")!;
  const r = ratio(ours, base);
  return {
    measure: `parse get -o json, ${count} resources: JsonObjectSplitter (64 KiB chunks) vs JSON.parse of one array`,
    ours,
    baseline: {
      name: "JSON.parse",
      command: `JSON.parse("[" + objects.join(",") + "]") of the same ${count} objects`,
      timing: base,
    },
    ratio: r,
    aim: `<= ${PARSE_AIM}x JSON.parse`,
    met: r <= PARSE_AIM,
    details: {
      resources: count,
      chars: stream.length,
      usPerResource: round3((ours.medianMs * 1000) / count),
    },
  };
}

async function overheadRow(ctx: CaseContext, mod: TalosctlModule): Promise<Row> {
  const { execa } = await loadExeca();
  const dir = await mkdtemp(join(tmpdir(), "bench-talosctl-"));
  try {
    const statePath = join(dir, "state.json");
    const extensions = Array.from({ length: 4 }, (_, i) => ({
      name: `ext-${i}`,
      version: "1.0.0",
      author: "Example",
    }));
    await writeFile(
      statePath,
      JSON.stringify({
        clientVersion: "v1.14.0",
        nodes: {
          "10.5.0.2": { role: "controlplane", boot: { current: { version: "v1.14.0", extensions } } },
        },
      }),
    );
    const env = { TALOSCTL_DOUBLE_STATE: statePath, TALOSCTL_DOUBLE_NODE: process.execPath };
    const t = await mod.createTalosctl({ binary: DOUBLE, env });
    const argv = ["--nodes", "10.5.0.2", "get", "extensions", "--output", "json"];
    const timings = await compare(
      [
        { name: "ours", run: () => t.extensions("10.5.0.2") },
        { name: "execa", run: () => execa(DOUBLE, argv, { env, stdin: "ignore" }) },
      ],
      { runs: Math.max(ctx.runs, 20), warmup: Math.max(ctx.warmup, 3), log: ctx.log },
    );
    const ours = timings.get("ours")!;
    const base = timings.get("execa")!;
    const overhead = Math.round((ours.medianMs - base.medianMs) * 10) / 10;
    return {
      measure: "one call: extensions() vs bare execa of the same argv (cluster double)",
      ours,
      baseline: {
        name: "bare execa",
        command: `execa(${"tools/doubles/talosctl"}, ${JSON.stringify(argv)})`,
        timing: base,
      },
      ratio: ratio(ours, base),
      aim: `overhead < ${OVERHEAD_AIM_MS} ms per call`,
      met: overhead < OVERHEAD_AIM_MS,
      details: {
        overheadMs: overhead,
        minOverheadMs: Math.round((ours.minMs - base.minMs) * 10) / 10,
        note: "most of both sides is starting the double (a Node process)",
      },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const talosctlCase: BenchCase = {
  name: "talosctl",
  title: "talosctl: stream-parse get -o json vs JSON.parse; per-call overhead vs bare execa",
  async run(ctx: CaseContext): Promise<Row[]> {
    const mod = await loadTalosctl();
    return [await parseRow(ctx, mod), await overheadRow(ctx, mod)];
  },
};
