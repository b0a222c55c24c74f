/**
 * `talos-ext deploy plan|apply` in-process (runCli with its own io) against the talosctl
 * double: plan as table and JSON, apply refused without --yes when stdin is not a terminal,
 * asked on a terminal, and run with --yes; coded errors for bad input.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { capturedCliIo, talosctlDoubleEnv } from "../../../tools/doubles/talosctl-state.ts";
import { type CliIo, runCli } from "../src/index.ts";

let dir: string;

const exts = (talos: string, mp: string) => [
  { name: "drbd", version: `9.3.3-${talos}` },
  { name: "multipath-tools", version: mp, service: "ext-multipathd" },
];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "cli-deploy-"));
  const node = (hostname: string, role: string) => ({
    hostname,
    role,
    boot: { current: { version: "v1.13.4", extensions: exts("v1.13.4", "0.13.0") } },
  });
  await writeFile(
    join(dir, "state.json"),
    JSON.stringify({
      clientVersion: "v1.14.0",
      images: {
        "reg.example/installer:v1.14.1": { version: "v1.14.1", extensions: exts("v1.14.1", "0.14.0") },
      },
      nodes: { "10.5.0.2": node("cp-1", "controlplane"), "10.5.0.4": node("w-1", "worker") },
    }),
  );
  await writeFile(
    join(dir, "installer.json"),
    JSON.stringify({
      reference: "reg.example/installer:v1.14.1",
      digest: `sha256:${"cd".repeat(32)}`,
      talosVersion: "v1.14.1",
      extensions: exts("v1.14.1", "0.14.0").map(({ name, version }) => ({ name, version })),
    }),
  );
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const io = (extra: Partial<CliIo> = {}) => capturedCliIo(dir, talosctlDoubleEnv(dir, { log: true }), extra);

const BASE = ["--installer-content", "installer.json", "--nodes", "10.5.0.4,10.5.0.2"];

async function upgrades(): Promise<number> {
  const log = await readFile(join(dir, "calls.jsonl"), "utf8").catch(() => "");
  return log.split("\n").filter((l) => l.includes('"upgrade"')).length;
}

describe("talos-ext deploy", () => {
  it("plan: a table with the exact commands, and JSON", async () => {
    const t = io();
    expect(await runCli(["deploy", "plan", ...BASE], t.io)).toBe(0);
    expect(t.out()).toMatch(/10\.5\.0\.2\s+controlplane\s+v1\.13\.4\s+v1\.14\.1\s+upgrade/);
    expect(t.out()).toContain("--nodes 10.5.0.4 upgrade --image reg.example/installer:v1.14.1");
    const j = io();
    expect(await runCli(["deploy", "plan", ...BASE, "--json"], j.io)).toBe(0);
    const plan = JSON.parse(j.out()).plan;
    expect(plan.nodes.map((n: { node: string }) => n.node)).toEqual(["10.5.0.2", "10.5.0.4"]);
    expect(await upgrades()).toBe(0);
  });

  it("apply without --yes: refused when stdin is not a terminal, asked when it is", async () => {
    const t = io();
    expect(await runCli(["deploy", "apply", ...BASE], t.io)).toBe(1);
    expect(t.err()).toContain("CLI_DEPLOY_NOT_CONFIRMED");
    const no = io({ stdinInteractive: true, prompt: async () => "n" });
    expect(await runCli(["deploy", "apply", ...BASE], no.io)).toBe(1);
    expect(no.err()).toContain("CLI_DEPLOY_NOT_CONFIRMED");
    expect(await upgrades()).toBe(0);
    let asked = "";
    const yes = io({
      stdinInteractive: true,
      prompt: async (q) => {
        asked = q;
        return "y";
      },
    });
    expect(await runCli(["deploy", "apply", ...BASE, "--report", "r.json"], yes.io)).toBe(0);
    expect(asked).toContain("Upgrade 2 node(s)");
    expect(yes.out()).toContain("2 upgraded");
    expect(yes.err()).toContain("10.5.0.2: verify-health ok");
    expect(JSON.parse(await readFile(join(dir, "r.json"), "utf8")).ok).toBe(true);
    expect(await upgrades()).toBe(2);
  });

  it("apply --yes --json prints the report; a failing node exits 1", async () => {
    const state = JSON.parse(await readFile(join(dir, "state.json"), "utf8"));
    state.nodes["10.5.0.4"].faults = { dropExtensions: ["drbd"] };
    await writeFile(join(dir, "state.json"), JSON.stringify(state));
    const t = io();
    expect(await runCli(["deploy", "apply", ...BASE, "--yes", "--json"], t.io)).toBe(1);
    const report = JSON.parse(t.out());
    expect(report.error).toMatchObject({
      code: "DEPLOY_EXTENSIONS_MISMATCH",
      node: "10.5.0.4",
      step: "verify-extensions",
    });
  });

  it("bad input is a coded error", async () => {
    const a = io();
    expect(await runCli(["deploy", "plan", "--nodes", "10.5.0.2"], a.io)).toBe(2);
    expect(a.err()).toContain("--installer-content FILE is required");
    const b = io();
    expect(await runCli(["deploy", "sideways", ...BASE], b.io)).toBe(2);
    const c = io();
    expect(await runCli(["deploy", "plan", ...BASE, "--installer", "reg.example/other:v1"], c.io)).toBe(2);
    await writeFile(join(dir, "bad.json"), '{"reference": "x"}');
    const d = io();
    expect(
      await runCli(["deploy", "plan", "--installer-content", "bad.json", "--nodes", "10.5.0.2"], d.io),
    ).toBe(1);
    expect(d.err()).toContain("DEPLOY_INVALID_INPUT");
    const e = io();
    expect(await runCli(["deploy", "plan", ...BASE, "--max-parallel", "x"], e.io)).toBe(2);
  });
});
