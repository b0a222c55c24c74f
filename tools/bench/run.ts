/**
 * `pnpm bench`: each case times our libraries (their built dist) against the tool people would
 * otherwise use, in the same run, and reports the ratio. Aims are informative: only a crashed
 * case makes the exit status non-zero.
 *
 *   node tools/bench/run.ts [--quick] [--filter <case>[,<case>]] [--runs N] [--warmup N] [--out FILE] [--verbose]
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { cpus, loadavg, release, totalmem } from "node:os";
import { dirname, resolve } from "node:path";
import { deployCase } from "./cases/deploy.ts";
import { installerCase } from "./cases/installer.ts";
import { ociWriterCase } from "./cases/oci-writer.ts";
import { pushCase } from "./cases/push.ts";
import { rebuildCase } from "./cases/rebuild.ts";
import { specCase } from "./cases/spec.ts";
import { talosctlCase } from "./cases/talosctl.ts";
import { createFixtures } from "./fixtures.ts";
import { fmtMs } from "./lib.ts";
import { REPO_ROOT } from "./modules.ts";
import { type BenchCase, type CaseResult, Skip } from "./types.ts";

const CASES: BenchCase[] = [
  specCase,
  ociWriterCase,
  pushCase,
  rebuildCase,
  talosctlCase,
  deployCase,
  installerCase,
];

const USAGE = `usage: node tools/bench/run.ts [options]

  --quick            small inputs (100-package tree, ~50 MB rootfs), for smoke tests
  --filter NAMES     run only these cases (comma-separated): ${CASES.map((c) => c.name).join(", ")}
  --runs N           measured runs per contender (default: per case, 3-5)
  --warmup N         warm-up runs per contender (default: per case, 0-1)
  --out FILE         JSON report (default tools/bench/results/latest.json, latest-quick.json with --quick)
  --verbose          print every run's time
  --list             list the cases and exit
`;

interface Args {
  quick: boolean;
  filter?: string[];
  runs?: number;
  warmup?: number;
  out: string;
  verbose: boolean;
  list: boolean;
}

function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    quick: false,
    out: "",
    verbose: false,
    list: false,
  };
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) usageError(`${flag} needs a value`);
    return v;
  };
  const count = (text: string, flag: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) usageError(`${flag} must be an integer >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a];
    const take = () => (inline !== undefined ? inline : value(i++, flag!));
    switch (flag) {
      case "--":
        break; // pnpm passes `--` through
      case "--quick":
        args.quick = true;
        break;
      case "--filter":
        args.filter = take()
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean);
        break;
      case "--runs":
        args.runs = count(take(), "--runs", 1);
        break;
      case "--warmup":
        args.warmup = count(take(), "--warmup", 0);
        break;
      case "--out":
        args.out = resolve(take());
        break;
      case "--verbose":
        args.verbose = true;
        break;
      case "--list":
        args.list = true;
        break;
      case "--help":
      case "-h":
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      default:
        usageError(`unknown option ${a}`);
    }
  }
  // Quick runs keep their own file, so a smoke test does not overwrite the last full report.
  args.out ||= resolve(REPO_ROOT, `tools/bench/results/${args.quick ? "latest-quick" : "latest"}.json`);
  for (const name of args.filter ?? []) {
    if (!CASES.some((c) => c.name === name)) {
      usageError(`unknown case "${name}"; cases: ${CASES.map((c) => c.name).join(", ")}`);
    }
  }
  return args;
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function table(results: CaseResult[]): string {
  const header = ["case", "measure", "ours ms", "baseline", "base ms", "ratio", "aim", "met"];
  const lines: string[][] = [];
  for (const r of results) {
    if (r.status !== "ok") {
      lines.push([r.name, `${r.status}: ${r.reason ?? ""}`, "", "", "", "", "", ""]);
      continue;
    }
    for (const row of r.rows) {
      if (!row.ours) {
        lines.push([r.name, `${row.measure}: skipped: ${row.skipped ?? "?"}`, "", "", "", "", row.aim, "?"]);
        continue;
      }
      lines.push([
        r.name,
        row.measure,
        fmtMs(row.ours.medianMs),
        row.baseline?.name ?? "-",
        row.baseline ? fmtMs(row.baseline.timing.medianMs) : "-",
        row.ratio !== undefined ? `${row.ratio.toFixed(2)}x` : "-",
        row.aim,
        row.met === undefined ? "?" : row.met ? "yes" : "NO",
      ]);
    }
  }
  const numeric = new Set([2, 4, 5]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => pad(c, widths[i]!, numeric.has(i)))
      .join("  ")
      .trimEnd();
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...lines.map(fmt)].join("\n");
}

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.list) {
    for (const c of CASES) process.stdout.write(`${c.name.padEnd(12)} ${c.title}\n`);
    return 0;
  }
  const defaultRuns = args.quick ? 3 : 5;
  const selected = args.filter ? CASES.filter((c) => args.filter!.includes(c.name)) : CASES;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  const fixtures = await createFixtures(args.quick, (l) => say(`  ${l}`));
  const results: CaseResult[] = [];
  const started = Date.now();
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    say(`${sig}: cleaning up (again to force)`);
    fixtures.cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    for (const c of selected) {
      say(`[${c.name}] ${c.title}`);
      const notes: string[] = [];
      const own = c.defaults?.(args.quick) ?? {};
      const runs = args.runs ?? own.runs ?? defaultRuns;
      const warmup = args.warmup ?? own.warmup ?? 1;
      const t0 = performance.now();
      const result: CaseResult = {
        name: c.name,
        title: c.title,
        status: "ok",
        runs,
        warmup,
        rows: [],
        notes,
        durationMs: 0,
      };
      try {
        result.rows = await c.run({
          quick: args.quick,
          runs,
          warmup,
          log: (l) => {
            if (args.verbose) say(`  ${l}`);
          },
          note: (l) => {
            notes.push(l);
            say(`  ${l}`);
          },
          fixtures,
        });
      } catch (e) {
        if (e instanceof Skip) {
          result.status = "skipped";
          result.reason = e.message;
        } else {
          result.status = "crashed";
          result.reason = (e as Error).message?.split("\n")[0] ?? String(e);
          say(`  crashed: ${(e as Error).stack ?? e}`);
        }
      }
      result.durationMs = Math.round(performance.now() - t0);
      say(
        `  ${result.status}${result.reason ? `: ${result.reason}` : ""} (${(result.durationMs / 1000).toFixed(1)} s)`,
      );
      results.push(result);
    }
  } finally {
    await fixtures.cleanup();
  }

  process.stdout.write(`\n${table(results)}\n`);
  process.stdout.write(
    "\nms: median of each case's runs (after warm-up), contenders interleaved; ratio = ours / baseline." +
      " Aims are informative.\n",
  );
  const report = {
    date: new Date().toISOString(),
    quick: args.quick,
    totalSeconds: Math.round((Date.now() - started) / 100) / 10,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
      loadavgAtEnd: loadavg().map((l) => Math.round(l * 100) / 100),
    },
    cases: results,
  };
  await writeJsonAtomic(args.out, report);
  process.stdout.write(`JSON report: ${args.out}\n`);
  const crashed = results.filter((r) => r.status === "crashed");
  if (crashed.length > 0) {
    process.stderr.write(`crashed: ${crashed.map((r) => r.name).join(", ")}\n`);
    return 1;
  }
  return 0;
}

process.exitCode = await main();
