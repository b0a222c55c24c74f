/**
 * deploy: plan + apply of a 100-node cluster (3 control planes, 97 workers; 20 with --quick)
 * on the talosctl double with instant nodes, workers 10 at a time. The baseline replays exactly
 * the talosctl calls the run made (read from the double's call log) with bare execa, in the
 * same order and grouping: control planes one after the other, workers in batches of 10. The
 * difference per node is what planning, verification bookkeeping and reporting cost on top of
 * the talosctl processes themselves.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { compare, round3 } from "../lib.ts";
import { REPO_ROOT } from "../modules.ts";
import { type BenchCase, type CaseContext, type Row, ratio } from "../types.ts";

type DeployModule = typeof import("../../../packages/deploy/src/index.ts");
type ExecaModule = {
  execa: (
    file: string,
    args: string[],
    options: { env: NodeJS.ProcessEnv; stdin: "ignore"; reject: false },
  ) => Promise<unknown>;
};

const DOUBLE = join(REPO_ROOT, "tools/doubles/talosctl");
const PARALLEL = 10;
const OVERHEAD_AIM_MS = 50;

async function loadDeploy(): Promise<DeployModule> {
  const url = process.env.BENCH_DEPLOY_MODULE
    ? pathToFileURL(process.env.BENCH_DEPLOY_MODULE).href
    : pathToFileURL(join(REPO_ROOT, "packages/deploy/dist/index.js")).href;
  try {
    return (await import(url)) as DeployModule;
  } catch (cause) {
    throw new Error(`cannot import ${url}: ${(cause as Error).message}; build the packages first`, { cause });
  }
}

/** execa exactly as @talos-ext/talosctl resolves it. */
async function loadExeca(): Promise<ExecaModule> {
  const require = createRequire(join(REPO_ROOT, "packages/talosctl/package.json"));
  return (await import(pathToFileURL(require.resolve("execa")).href)) as ExecaModule;
}

function clusterState(nodes: number, controlPlanes: number) {
  const exts = (v: string) => [
    { name: "drbd", version: `9.3.3-${v}` },
    { name: "multipath-tools", version: v === "v1.14.1" ? "0.14.0" : "0.13.0", service: "ext-multipathd" },
  ];
  const state: Record<string, unknown> & { nodes: Record<string, unknown> } = {
    clientVersion: "v1.14.0",
    images: { "reg.example/installer:v1.14.1": { version: "v1.14.1", extensions: exts("v1.14.1") } },
    nodes: {},
  };
  for (let i = 0; i < nodes; i++) {
    const addr = `10.5.${Math.floor(i / 250)}.${(i % 250) + 2}`;
    state.nodes[addr] = {
      hostname: i < controlPlanes ? `cp-${i + 1}` : `w-${i + 1 - controlPlanes}`,
      role: i < controlPlanes ? "controlplane" : "worker",
      boot: { current: { version: "v1.13.4", extensions: exts("v1.13.4") } },
    };
  }
  return state;
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += limit) await Promise.all(items.slice(i, i + limit).map(fn));
}

export const deployCase: BenchCase = {
  name: "deploy",
  // A full run is minutes of talosctl processes: one measured run per contender unless asked.
  defaults: () => ({ runs: 1, warmup: 0 }),
  title:
    "deploy: plan + apply of 100 nodes on the talosctl double vs replaying the same talosctl calls with execa",
  async run(ctx: CaseContext): Promise<Row[]> {
    const mod = await loadDeploy();
    const { execa } = await loadExeca();
    const total = ctx.quick ? 20 : 100;
    const cps = ctx.quick ? 1 : 3;
    const dir = await mkdtemp(join(tmpdir(), "bench-deploy-"));
    try {
      const pristine = join(dir, "pristine.json");
      const statePath = join(dir, "state.json");
      const logPath = join(dir, "calls.jsonl");
      await writeFile(pristine, JSON.stringify(clusterState(total, cps)));
      const env = {
        TALOSCTL_DOUBLE_STATE: statePath,
        TALOSCTL_DOUBLE_LOG: logPath,
        TALOSCTL_DOUBLE_NODE: process.execPath,
        TALOSCONFIG: "",
      };
      const nodes = Object.keys(clusterState(total, cps).nodes);
      const installer = {
        reference: "reg.example/installer:v1.14.1",
        digest: `sha256:${"ab".repeat(32)}`,
        talosVersion: "v1.14.1",
        extensions: [
          { name: "drbd", version: "9.3.3-v1.14.1" },
          { name: "multipath-tools", version: "0.14.0" },
        ],
      };
      const timeouts = { pollMs: 20, readyMs: 60_000, servicesMs: 60_000, healthMs: 60_000 };
      const reset = async () => {
        await copyFile(pristine, statePath);
        await rm(logPath, { force: true });
      };

      // Ours: connect + plan + apply. The baseline replays the calls of the latest run of ours
      // (compare() runs ours first), grouped per node as the run grouped them.
      let calls: string[][] = [];
      let planMs = 0;
      let applyMs = 0;
      let cpNodes: string[] = [];
      let workers: string[] = [];
      const ours = async () => {
        let t0 = performance.now();
        const talosctl = await mod.connect({ binary: DOUBLE, env });
        const plan = await mod.planDeploy({ talosctl, nodes, installer, maxParallel: PARALLEL, timeouts });
        planMs = performance.now() - t0;
        t0 = performance.now();
        const report = await mod.applyPlan(plan, { talosctl });
        applyMs = performance.now() - t0;
        if (!report.ok) throw new Error(`the deploy failed: ${JSON.stringify(report.error)}`);
        calls = (await readFile(logPath, "utf8"))
          .split("\n")
          .filter(Boolean)
          .map((l) => (JSON.parse(l) as { argv: string[] }).argv);
        cpNodes = plan.nodes.filter((p) => p.role === "controlplane").map((p) => p.node);
        workers = plan.nodes.filter((p) => p.role === "worker").map((p) => p.node);
      };
      const nodeOf = (argv: string[]) => (argv.includes("--nodes") ? argv[argv.indexOf("--nodes") + 1]! : "");
      const replay = async () => {
        const perNode = new Map<string, string[][]>();
        for (const argv of calls) {
          const n = nodeOf(argv);
          if (!perNode.has(n)) perNode.set(n, []);
          perNode.get(n)!.push(argv);
        }
        const runNode = async (n: string) => {
          // Some calls fail by design (the META 0x07 probe answers NotFound): keep going, as the run did.
          for (const argv of perNode.get(n) ?? [])
            await execa(DOUBLE, argv, { env, stdin: "ignore", reject: false });
        };
        await runNode("");
        for (const n of cpNodes) await runNode(n);
        await pool(workers, PARALLEL, runNode);
      };
      const t = await compare(
        [
          { name: "ours", before: reset, run: ours },
          { name: "replay", before: reset, run: replay },
        ],
        { runs: ctx.runs, warmup: ctx.warmup, log: ctx.log },
      );
      ctx.note(
        `${total} nodes (${cps} control planes), ${calls.length} talosctl calls, workers ${PARALLEL} at a time`,
      );
      const oursT = t.get("ours")!;
      const baseT = t.get("replay")!;
      const perNodeOverhead = (oursT.medianMs - baseT.medianMs) / total;
      return [
        {
          measure: `plan + apply, ${total} nodes (instant nodes, workers ${PARALLEL} at a time) vs the same talosctl calls replayed`,
          ours: oursT,
          baseline: {
            name: "bare execa replay",
            command: `execa(tools/doubles/talosctl, argv) for each of the run's ${calls.length} calls, grouped as the run grouped them`,
            timing: baseT,
          },
          ratio: ratio(oursT, baseT),
          aim: `overhead < ${OVERHEAD_AIM_MS} ms per node`,
          met: perNodeOverhead < OVERHEAD_AIM_MS,
          details: {
            lastPlanMs: Math.round(planMs),
            lastApplyMs: Math.round(applyMs),
            overheadMsPerNode: round3(perNodeOverhead),
            callsPerNode: round3(calls.length / total),
            note: "both sides are dominated by starting talosctl (double) processes; on a loaded 2-core machine a few runs are needed to see the difference",
          },
        },
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
