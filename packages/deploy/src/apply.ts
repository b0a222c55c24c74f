/**
 * Applying a plan: phase by phase, control planes one at a time (etcd checked before each),
 * workers in batches; per node one `talosctl upgrade` for that node only, then wait for it,
 * then verify version, the exact extension set, every ext-* service, and for control planes
 * etcd membership and health. The first failure stops the run: nodes in flight finish, no
 * further node is touched, and the report says what state the failed node is in.
 */
import { rename, writeFile } from "node:fs/promises";
import { type ExtensionStatus, isTalosctlError, type Talosctl } from "@talos-ext/talosctl";
import { DeployError, type DeployStep, fromTalosctl, type NodeOutcome } from "./errors.ts";
import { checkEtcd } from "./etcd.ts";
import { diffExtensions, nodeSet } from "./extensions.ts";
import type { InstallerContent } from "./installer.ts";
import { type DeployPlan, type NodePlan, type PlanHop, upgradeTimeouts } from "./plan.ts";
import type { DeployReport, NodeReport, StepRecord } from "./report.ts";

/** A progress event of a running deploy. */
export type DeployEvent =
  | {
      /** The run starts. */
      type: "run-start";
      /** How many nodes the plan holds, skipped ones included. */
      nodes: number;
      /** When it happened (ISO 8601). */
      at: string;
    }
  | {
      /** Preflight is over: every node answered, with the version the plan was made for. */
      type: "preflight";
      /** It passed; when not, nothing was changed and the run stops. */
      ok: boolean;
      /** When it happened (ISO 8601). */
      at: string;
    }
  | {
      /** A node's upgrade to one version starts (once per hop when the upgrade takes several). */
      type: "node-start";
      /** The node (as the plan names it). */
      node: string;
      /** The Talos version this hop upgrades it to. */
      version: string;
      /** When it happened (ISO 8601). */
      at: string;
    }
  | {
      /** A step of a node's upgrade ended. */
      type: "step";
      /** The node (as the plan names it). */
      node: string;
      /** Which step. */
      step: DeployStep;
      /** The step succeeded. */
      ok: boolean;
      /** Wall time of the step, whatever it waited for included. */
      durationMs: number;
      /** When it happened (ISO 8601). */
      at: string;
    }
  | {
      /** A node's hop ended, upgraded or not. */
      type: "node-done";
      /** The node (as the plan names it). */
      node: string;
      /** What the node was left as. */
      outcome: NodeOutcome;
      /** Wall time of the hop. */
      durationMs: number;
      /** When it happened (ISO 8601). */
      at: string;
    }
  | {
      /** A node already runs the target version and extension set: nothing is done to it. */
      type: "node-skipped";
      /** The node (as the plan names it). */
      node: string;
      /** When it happened (ISO 8601). */
      at: string;
    }
  | {
      /** The run stops before the remaining nodes. */
      type: "stopping";
      /** A step failed, or the run was interrupted. */
      reason: "failure" | "abort";
      /** The node it stopped at, when it stopped at one. */
      node?: string;
      /** When it happened (ISO 8601). */
      at: string;
    }
  | {
      /** The run is over; the report follows. */
      type: "run-done";
      /** Every node was upgraded and verified, or skipped (as the report's `ok`). */
      ok: boolean;
      /** The run was interrupted (as the report's `aborted`). */
      aborted: boolean;
      /** When it happened (ISO 8601). */
      at: string;
    };

/** Options of `applyPlan`. */
export interface ApplyOptions {
  /** The same client the plan was made with. */
  talosctl: Talosctl;
  /** First abort: nodes in flight finish their upgrade and checks, no new node starts. */
  signal?: AbortSignal;
  /** Second abort: stop at once (talosctl is terminated); see `createInterrupt()`. */
  hardSignal?: AbortSignal;
  /** Roll a failed node back (`talosctl rollback`) and check that it returns to its old version. */
  rollbackOnFailure?: boolean;
  /** Run `talosctl health` on each upgraded control plane (default true). */
  clusterHealth?: boolean;
  /** Progress events, in order. */
  onEvent?: (event: DeployEvent) => void;
  /** Also write the report here as JSON (written atomically at the end, also when interrupted). */
  reportFile?: string;
}

/** An interrupt like Ctrl-C: first `interrupt()` is graceful, the second stops at once. */
export interface Interrupt {
  /** Pass as `signal`. */
  signal: AbortSignal;
  /** Pass as `hardSignal`. */
  hardSignal: AbortSignal;
  /** First call aborts `signal`, the next `hardSignal`. */
  interrupt(): void;
}

/** Makes the two signals of `applyPlan` from one "interrupt" action (e.g. SIGINT twice). */
export function createInterrupt(): Interrupt {
  const soft = new AbortController();
  const hard = new AbortController();
  return {
    signal: soft.signal,
    hardSignal: hard.signal,
    interrupt() {
      if (!soft.signal.aborted) soft.abort();
      else hard.abort();
    },
  };
}

const now = () => new Date().toISOString();

class Run {
  readonly reports = new Map<string, NodeReport>();
  failure: DeployError | undefined;
  readonly timeouts: DeployPlan["timeouts"];

  constructor(
    readonly plan: DeployPlan,
    readonly opts: ApplyOptions,
  ) {
    this.timeouts = plan.timeouts;
    for (const p of plan.nodes) {
      this.reports.set(p.node, {
        node: p.node,
        role: p.role,
        fromVersion: p.currentVersion,
        targetVersion: p.targetVersion,
        outcome: p.action === "skip" ? "skipped" : "pending",
        steps: [],
        durationMs: 0,
      });
    }
  }

  get talos(): Talosctl {
    return this.opts.talosctl;
  }

  emit(e: DeployEvent): void {
    this.opts.onEvent?.(e);
  }

  /** Whether no new node may start. */
  get stopping(): boolean {
    return this.failure !== undefined || (this.opts.signal?.aborted ?? false) || this.hard;
  }

  get hard(): boolean {
    return this.opts.hardSignal?.aborted ?? false;
  }

  call(): { timeoutMs: number; signal?: AbortSignal } {
    return {
      timeoutMs: this.timeouts.callMs,
      ...(this.opts.hardSignal ? { signal: this.opts.hardSignal } : {}),
    };
  }

  installerFor(version: string): InstallerContent {
    const all = [...this.plan.hopInstallers, this.plan.installer];
    return all.find((i) => i.talosVersion === version) ?? this.plan.installer;
  }

  async step<T>(node: string, step: DeployStep, version: string, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const rec: StepRecord = {
      step,
      version,
      startedAt: new Date(started).toISOString(),
      durationMs: 0,
      ok: false,
    };
    this.reports.get(node)!.steps.push(rec);
    try {
      const v = await fn();
      rec.ok = true;
      return v;
    } finally {
      rec.durationMs = Date.now() - started;
      this.emit({ type: "step", node, step, ok: rec.ok, durationMs: rec.durationMs, at: now() });
    }
  }

  /** Sleeps `ms`, or less when the hard signal fires. */
  async pause(ms: number): Promise<void> {
    const hard = this.opts.hardSignal;
    if (hard?.aborted) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        hard?.removeEventListener("abort", done);
        resolve();
      }
      hard?.addEventListener("abort", done, { once: true });
    });
  }

  aborted(node: string, step: DeployStep): DeployError {
    return new DeployError({
      code: "DEPLOY_ABORTED",
      node,
      step,
      nodeState: "interrupted",
      message: `interrupted at once during step ${step} of node ${node}`,
      hint: "Check the node's state (`talosctl version`, `get extensions`), then run again: nodes at the target are skipped.",
    });
  }

  /**
   * Polls `probe` until it returns a value or the deadline passes; the last error is thrown then.
   * Errors that are not talosctl's (and DeployErrors) end the wait at once.
   */
  async poll<T>(
    node: string,
    step: DeployStep,
    deadlineMs: number,
    probe: () => Promise<T | undefined>,
    onTimeout: (last: unknown) => DeployError,
  ): Promise<T> {
    const deadline = Date.now() + deadlineMs;
    let last: unknown;
    for (;;) {
      if (this.hard) throw this.aborted(node, step);
      try {
        const v = await probe();
        if (v !== undefined) return v;
        last = undefined;
      } catch (e) {
        if (!isTalosctlError(e) && !(e instanceof DeployError)) throw e;
        if (isTalosctlError(e, "TALOSCTL_ABORTED") && this.hard) throw this.aborted(node, step);
        last = e;
      }
      if (Date.now() >= deadline) throw onTimeout(last);
      await this.pause(this.timeouts.pollMs);
    }
  }

  /** The node's version now, or undefined when it does not answer. */
  async probeVersion(node: string): Promise<string | undefined> {
    try {
      return (await this.talos.version(node, { timeoutMs: this.timeouts.callMs })).tag;
    } catch {
      return undefined;
    }
  }

  async upgradeNode(p: NodePlan, hop: PlanHop): Promise<void> {
    const node = p.node;
    const inst = this.installerFor(hop.version);
    await this.step(node, "upgrade", hop.version, async () => {
      try {
        await this.talos.upgrade(node, {
          image: hop.image,
          serverVersion: hop.fromVersion,
          rebootMode: p.rebootMode,
          ...(this.plan.drain !== undefined ? { drain: this.plan.drain } : {}),
          ...upgradeTimeouts(this.talos, hop.fromVersion, this.plan.drain, this.timeouts),
          ...(this.opts.hardSignal ? { signal: this.opts.hardSignal } : {}),
        });
      } catch (e) {
        if (isTalosctlError(e, "TALOSCTL_ABORTED") && this.hard) throw this.aborted(node, "upgrade");
        const d = fromTalosctl(
          e,
          "upgrade",
          node,
          `talosctl upgrade of node ${node} to ${hop.version} failed`,
        );
        if (d.code === "DEPLOY_DRAIN_FAILED") d.nodeState = "armed";
        throw d;
      }
    });
    // talosctl tracked the reboot; the node must now answer, on the new version, and be ready.
    const version = await this.step(node, "wait", hop.version, () =>
      this.poll(
        node,
        "wait",
        this.timeouts.readyMs,
        async () => {
          const v = (await this.talos.version(node, this.call())).tag;
          const [status] = await this.talos.get(node, "machinestatus", undefined, this.call());
          const ready = (status?.spec as { status?: { ready?: boolean } } | undefined)?.status?.ready;
          return ready === true ? v : undefined;
        },
        (last) =>
          new DeployError({
            code: "DEPLOY_NODE_NOT_BACK",
            node,
            step: "wait",
            message: `node ${node} is not back and ready ${this.timeouts.readyMs} ms after its upgrade to ${hop.version}${last instanceof Error ? `: ${last.message}` : ""}`,
            hint: "Check the node's console. Raise timeouts.readyMs if it is only slow.",
            cause: last,
          }),
      ),
    );
    await this.step(node, "verify-version", hop.version, async () => {
      if (version !== hop.version) {
        throw new DeployError({
          code: "DEPLOY_VERSION_MISMATCH",
          node,
          step: "verify-version",
          nodeState: version === hop.fromVersion ? "unchanged" : "upgraded-unverified",
          message: `node ${node} runs ${version} after its upgrade, not ${hop.version}`,
          hint:
            version === hop.fromVersion
              ? "The node booted its old entry: check the boot loader and the installer's output."
              : "The installer does not install the version it was described with: inspect it again.",
        });
      }
    });
    await this.step(node, "verify-extensions", hop.version, async () => {
      let list: ExtensionStatus[];
      try {
        list = await this.talos.extensions(node, this.call());
      } catch (e) {
        throw fromTalosctl(e, "verify-extensions", node, `cannot read the extensions of node ${node}`);
      }
      const d = diffExtensions(nodeSet(list), inst.extensions);
      const wrong = [
        ...d.added.map((c) => `missing ${c.name} ${c.to}`),
        ...d.changed.map((c) => `${c.name} is ${c.from}, not ${c.to}`),
        ...d.removed.map((c) => `unexpected ${c.name} ${c.from}`),
      ];
      if (wrong.length) {
        throw new DeployError({
          code: "DEPLOY_EXTENSIONS_MISMATCH",
          node,
          step: "verify-extensions",
          nodeState: "upgraded-unverified",
          message: `node ${node} after its upgrade to ${hop.version}: ${wrong.join("; ")}`,
          hint: "The node booted another extension set than the installer's: inspect the installer, or roll back.",
        });
      }
    });
    await this.step(node, "verify-services", hop.version, () =>
      this.poll(
        node,
        "verify-services",
        this.timeouts.servicesMs,
        async () => {
          const services = await this.talos.services(node, this.call());
          const bad = services.filter((s) => s.id.startsWith("ext-") && s.state !== "Running");
          return bad.length === 0 ? true : undefined;
        },
        (last) => {
          if (last instanceof DeployError) return last;
          return new DeployError({
            code: "DEPLOY_SERVICE_NOT_RUNNING",
            node,
            step: "verify-services",
            nodeState: "upgraded-unverified",
            message: `node ${node}: ext-* services not Running ${this.timeouts.servicesMs} ms after its upgrade${last instanceof Error ? ` (${last.message})` : ""}`,
            hint: "Read `talosctl -n <node> service <id>` and its logs; roll back if the service cannot start.",
          });
        },
      ).catch(async (e) => {
        // Name the services in the message: one more read, outside the poll.
        if (e instanceof DeployError && e.code === "DEPLOY_SERVICE_NOT_RUNNING") {
          try {
            const services = await this.talos.services(node, this.call());
            const bad = services.filter((s) => s.id.startsWith("ext-") && s.state !== "Running");
            if (bad.length) {
              throw new DeployError({
                code: "DEPLOY_SERVICE_NOT_RUNNING",
                node,
                step: "verify-services",
                nodeState: "upgraded-unverified",
                message: `node ${node}: ${bad.map((s) => `${s.id} is ${s.state}`).join(", ")} ${this.timeouts.servicesMs} ms after its upgrade to ${hop.version}`,
                hint: e.hint,
              });
            }
          } catch (inner) {
            if (inner instanceof DeployError) throw inner;
          }
        }
        throw e;
      }),
    );
    if (p.role === "controlplane") {
      await this.step(node, "verify-health", hop.version, async () => {
        await checkEtcd(this.talos, node, node, "verify-health", { ...this.call(), mustInclude: true });
        if (this.opts.clusterHealth !== false) {
          try {
            await this.talos.health(node, {
              waitTimeoutMs: this.timeouts.healthMs,
              ...(this.opts.hardSignal ? { signal: this.opts.hardSignal } : {}),
            });
          } catch (e) {
            const d = fromTalosctl(
              e,
              "verify-health",
              node,
              `talosctl health on node ${node} failed`,
              isTalosctlError(e, "TALOSCTL_ABORTED") ? "DEPLOY_ABORTED" : "DEPLOY_UNHEALTHY",
            );
            throw d;
          }
        }
      });
    }
  }

  /** Sets the failed node's state (probing it when the error does not say) and rolls back if asked. */
  async settleFailure(p: NodePlan, hop: PlanHop, e: DeployError): Promise<void> {
    const rep = this.reports.get(p.node)!;
    if (e.code === "DEPLOY_ABORTED") {
      rep.outcome = "interrupted";
      e.nodeState = "interrupted";
      return;
    }
    const v = await this.probeVersion(p.node);
    if (v !== undefined) rep.finalVersion = v;
    let state: NodeOutcome;
    if (v === undefined) state = "unreachable";
    else if (e.nodeState === "armed" || e.code === "DEPLOY_DRAIN_FAILED")
      state = v === hop.version ? "upgraded-unverified" : "armed";
    else if (v === hop.version) state = "upgraded-unverified";
    else if (
      e.code === "DEPLOY_UPGRADE_FAILED" ||
      e.code === "DEPLOY_NODE_BUSY" ||
      e.code === "DEPLOY_ETCD_UNHEALTHY"
    )
      state = "unchanged";
    else state = e.nodeState ?? "unchanged";
    e.nodeState = state;
    rep.outcome = state;
    if (!this.opts.rollbackOnFailure || (state !== "upgraded-unverified" && state !== "armed")) return;
    try {
      await this.step(p.node, "rollback", hop.fromVersion, async () => {
        try {
          await this.talos.rollback(p.node, this.call());
        } catch (err) {
          throw fromTalosctl(
            err,
            "rollback",
            p.node,
            `talosctl rollback of node ${p.node} failed`,
            "DEPLOY_ROLLBACK_FAILED",
          );
        }
        const back = await this.poll(
          p.node,
          "rollback",
          this.timeouts.readyMs,
          async () => (await this.talos.version(p.node, this.call())).tag,
          (last) =>
            new DeployError({
              code: "DEPLOY_ROLLBACK_FAILED",
              node: p.node,
              step: "rollback",
              message: `node ${p.node} is not back ${this.timeouts.readyMs} ms after its rollback${last instanceof Error ? `: ${last.message}` : ""}`,
              hint: "Check the node's console.",
            }),
        );
        rep.finalVersion = back;
        if (back !== hop.fromVersion) {
          throw new DeployError({
            code: "DEPLOY_ROLLBACK_FAILED",
            node: p.node,
            step: "rollback",
            message: `node ${p.node} runs ${back} after its rollback, not ${hop.fromVersion}`,
            hint: "Check the node's boot entries.",
          });
        }
      });
      rep.outcome = "rolled-back";
      e.nodeState = "rolled-back";
    } catch (err) {
      if (!(err instanceof DeployError)) throw err;
      rep.rollbackError = err.toJSON();
      const after = await this.probeVersion(p.node);
      rep.outcome = after === undefined ? "unreachable" : rep.outcome;
    }
  }

  async runNode(p: NodePlan, hop: PlanHop, isLastHop: boolean): Promise<void> {
    const rep = this.reports.get(p.node)!;
    const started = Date.now();
    this.emit({ type: "node-start", node: p.node, version: hop.version, at: now() });
    try {
      await this.upgradeNode(p, hop);
      rep.finalVersion = hop.version;
      rep.outcome = isLastHop ? "upgraded" : "pending";
    } catch (e) {
      const d = e instanceof DeployError ? e : fromTalosctl(e, "upgrade", p.node, `node ${p.node}`);
      await this.settleFailure(p, hop, d);
      this.failure ??= d;
      this.emit({
        type: "stopping",
        reason: d.code === "DEPLOY_ABORTED" ? "abort" : "failure",
        node: p.node,
        at: now(),
      });
    } finally {
      rep.durationMs += Date.now() - started;
      this.emit({
        type: "node-done",
        node: p.node,
        outcome: rep.outcome,
        durationMs: Date.now() - started,
        at: now(),
      });
    }
  }

  /** Preflight: every node still answers with the version the plan was made for; etcd once. */
  async preflight(): Promise<void> {
    for (const p of this.plan.nodes) {
      if (this.stopping) return;
      const first = p.hops[0];
      if (!first) continue;
      let tag: string;
      try {
        tag = (await this.talos.version(p.node, this.call())).tag;
      } catch (e) {
        throw fromTalosctl(e, "preflight", p.node, `node ${p.node} does not answer`);
      }
      if (tag !== first.fromVersion) {
        throw new DeployError({
          code: "DEPLOY_NODE_VERSION_UNKNOWN",
          node: p.node,
          step: "preflight",
          message: `node ${p.node} runs ${tag}, but the plan was made for ${first.fromVersion}`,
          hint: "Something changed the node since the plan: plan again.",
        });
      }
    }
  }

  async etcdBefore(p: NodePlan, hop: PlanHop): Promise<boolean> {
    try {
      await this.step(p.node, "etcd-before", hop.version, () =>
        checkEtcd(this.talos, p.node, p.node, "etcd-before", this.call()).then(() => undefined),
      );
      return true;
    } catch (e) {
      if (!(e instanceof DeployError)) throw e;
      e.nodeState = "unchanged";
      this.reports.get(p.node)!.outcome = e.code === "DEPLOY_ABORTED" ? "interrupted" : "unchanged";
      this.failure ??= e;
      this.emit({
        type: "stopping",
        reason: e.code === "DEPLOY_ABORTED" ? "abort" : "failure",
        node: p.node,
        at: now(),
      });
      return false;
    }
  }

  async run(): Promise<void> {
    const byNode = new Map(this.plan.nodes.map((p) => [p.node, p]));
    for (const p of this.plan.nodes)
      if (p.action === "skip") this.emit({ type: "node-skipped", node: p.node, at: now() });
    try {
      await this.preflight();
      this.emit({ type: "preflight", ok: true, at: now() });
    } catch (e) {
      if (!(e instanceof DeployError)) throw e;
      this.failure = e;
      this.emit({ type: "preflight", ok: false, at: now() });
      return;
    }
    for (const phase of this.plan.phases) {
      const hopOf = (node: string) => {
        const p = byNode.get(node)!;
        const i = p.hops.findIndex((h) => h.version === phase.version);
        return { p, hop: p.hops[i]!, last: i === p.hops.length - 1 };
      };
      for (const node of phase.controlPlanes) {
        if (this.stopping) return;
        const { p, hop, last } = hopOf(node);
        if (!(await this.etcdBefore(p, hop))) return;
        if (this.stopping) return;
        await this.runNode(p, hop, last);
      }
      for (const batch of phase.workerBatches) {
        if (this.stopping) return;
        await Promise.all(
          batch.map((node) => {
            const { p, hop, last } = hopOf(node);
            return this.runNode(p, hop, last);
          }),
        );
      }
    }
  }
}

/**
 * Runs the plan and resolves with the report; node failures and interrupts are in the report
 * (`ok: false`, `error`), never thrown. Throws only for a bug or a report file it cannot write.
 */
export async function applyPlan(plan: DeployPlan, options: ApplyOptions): Promise<DeployReport> {
  const started = Date.now();
  const run = new Run(plan, options);
  run.emit({ type: "run-start", nodes: plan.nodes.length, at: new Date(started).toISOString() });
  await run.run();
  const interrupted = (options.signal?.aborted ?? false) || (options.hardSignal?.aborted ?? false);
  let error = run.failure;
  if (!error && interrupted && [...run.reports.values()].some((r) => r.outcome === "pending")) {
    error = new DeployError({
      code: "DEPLOY_ABORTED",
      step: "upgrade",
      message: `interrupted: ${[...run.reports.values()].filter((r) => r.outcome === "pending").length} node(s) not started`,
      hint: "Run again: nodes at the target are skipped.",
    });
  }
  const report: DeployReport = {
    ok: error === undefined,
    aborted: error?.code === "DEPLOY_ABORTED",
    startedAt: new Date(started).toISOString(),
    finishedAt: now(),
    durationMs: Date.now() - started,
    installer: {
      reference: plan.installer.reference,
      ...(plan.installer.digest ? { digest: plan.installer.digest } : {}),
      talosVersion: plan.installer.talosVersion,
    },
    nodes: plan.nodes.map((p) => run.reports.get(p.node)!),
    warnings: plan.warnings,
  };
  if (error) report.error = error.toJSON();
  run.emit({ type: "run-done", ok: report.ok, aborted: report.aborted, at: now() });
  if (options.reportFile) {
    const tmp = `${options.reportFile}.tmp-${process.pid}`;
    await writeFile(tmp, `${JSON.stringify(report, null, 2)}\n`);
    await rename(tmp, options.reportFile);
  }
  return report;
}
