/**
 * The client: one talosctl process per call and per node (talosctl fans out and aborts a whole
 * multi-node call for one bad node; we never give it more than one), flags chosen from the
 * detected client version, output parsed into typed values.
 */
import { TalosctlError } from "./errors.ts";
import { JsonObjectSplitter, JsonStreamError } from "./json-stream.ts";
import {
  checkResource,
  type ExtensionStatus,
  type MachineType,
  parseGetYaml,
  type TalosctlResource,
  toExtensionStatus,
} from "./resources.ts";
import { locateTalosctl, type RunOutput, runTalosctl } from "./run.ts";
import { readTalosconfig, type TalosconfigSummary } from "./talosconfig.ts";
import {
  type EtcdMember,
  type EtcdMemberStatus,
  parseEtcdMembers,
  parseEtcdStatus,
  parseServerVersion,
  parseServiceStatus,
  parseServiceTable,
  type ServerVersion,
  type ServiceStatus,
  type ServiceSummary,
  stripNodePrefix,
} from "./text-output.ts";
import {
  type ClientFeatures,
  clientFeatures,
  goDuration,
  isSupportedClient,
  parseClientVersionOutput,
  parseTalosVersion,
  SUPPORTED_CLIENT_VERSIONS,
  serverHasLifecycle,
  type TalosVersion,
} from "./version.ts";

/** Options of `createTalosctl`. Names follow talosctl's own flags and environment. */
export interface TalosctlOptions {
  /** Path (or name on PATH) of the binary; default `$TALOSCTL`, then `talosctl` on `$PATH`. */
  binary?: string;
  /** `--talosconfig`; default `$TALOSCONFIG` when that file exists, else talosctl's own lookup. */
  talosconfig?: string;
  /** `--context`: a context of the talosconfig other than its current one. */
  context?: string;
  /** `--endpoints`: override the context's endpoints. */
  endpoints?: string[];
  /** Environment for finding the binary and for the child (merged over `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Default timeout of a read call (version, get, service, logs, read, etcd), in ms (default 60 s). */
  timeoutMs?: number;
  /** Default AbortSignal of every call (a call's own signal is combined with it). */
  signal?: AbortSignal;
  /** Budget for one call's stdout, in bytes (default 64 MiB). */
  maxOutputBytes?: number;
}

/** Per-call options. */
export interface CallOptions {
  /** Timeout of this call, in ms. */
  timeoutMs?: number;
  /** Cancels this call (talosctl is terminated; the call rejects with TALOSCTL_ABORTED). */
  signal?: AbortSignal;
}

/** Options of `get`. */
export interface GetOptions extends CallOptions {
  /** `--namespace`; default: the resource's own default namespace. */
  namespace?: string;
  /** `-o json` (default, streamed) or `-o yaml`. */
  output?: "json" | "yaml";
  /** Called with each resource as soon as it is parsed (JSON output only). */
  onResource?: (resource: TalosctlResource) => void;
}

/** Options of `health`. */
export interface HealthOptions extends CallOptions {
  /** `--wait-timeout` (talosctl's default 20 m). The call's own timeout is this plus 60 s. */
  waitTimeoutMs?: number;
  /** `--control-plane-nodes`: skip discovery and check these. */
  controlPlaneNodes?: string[];
  /** `--worker-nodes`. */
  workerNodes?: string[];
  /** `--k8s-endpoint`. */
  k8sEndpoint?: string;
}

/** Options of `logs`. */
export interface LogsOptions extends CallOptions {
  /** `--tail`: the last N lines only (default: everything). */
  tail?: number;
  /** `-k`: a container in the k8s.io namespace instead of a Talos service. */
  kubernetes?: boolean;
}

/** Options of `read`. */
export interface ReadOptions extends CallOptions {
  /** Budget for the file, in bytes (default: the client's maxOutputBytes). */
  maxBytes?: number;
}

/** `--reboot-mode` / `--mode`. `force` exists only on the Lifecycle upgrade path. */
export type RebootMode = "default" | "powercycle" | "force";

/** Options of `upgrade`. */
export interface UpgradeOptions extends CallOptions {
  /** `--image`, required: talosctl's default is a vanilla installer without your extensions. */
  image: string;
  /** `--reboot-mode`. */
  rebootMode?: RebootMode;
  /** `--drain` (Lifecycle path; talosctl's default is true there). */
  drain?: boolean;
  /** `--drain-timeout` (Lifecycle path). */
  drainTimeoutMs?: number;
  /**
   * Install only; the new version activates at the next reboot ("armed"). `--no-reboot` with a
   * 1.14 client on the Lifecycle path, `--stage --legacy` (`--stage` on 1.12) otherwise.
   */
  stage?: boolean;
  /** `--wait` (default true): track the reboot until the node is back. */
  wait?: boolean;
  /** `--timeout`: how long talosctl tracks the reboot (talosctl's default 30 m). */
  trackTimeoutMs?: number;
  /** `--force`: skip the legacy path's etcd checks. Refused on the Lifecycle path, which ignores it. */
  force?: boolean;
  /** The node's Talos version when already known; otherwise `upgrade` asks the node first. */
  serverVersion?: string;
}

/** How an upgrade was run. */
export interface UpgradeResult {
  /** The node exactly as passed. */
  node: string;
  /** `lifecycle` (talosctl >= 1.13 and node > 1.13.0-alpha.2) or `legacy`. */
  path: "lifecycle" | "legacy";
  /** Installed without reboot: the node is armed. */
  staged: boolean;
  /** The node's version before the upgrade. */
  fromVersion: string;
  /** The argv that ran. */
  command: string[];
  /** talosctl's progress output (stderr; redacted). */
  progress: string;
}

/** What `upgradeCommand` returns: the command `upgrade` would run. */
export interface UpgradeCommand {
  /** `lifecycle` or `legacy`, as talosctl will choose it. */
  path: "lifecycle" | "legacy";
  /** The whole argv, binary and global flags first (no secrets: talosctl takes none on its command line). */
  argv: string[];
  /** The arguments after the global flags, `upgrade` first. */
  args: string[];
  /** The timeout `upgrade` puts on the process, in ms. */
  timeoutMs: number;
  /** Install only (the node is armed afterwards). */
  staged: boolean;
  /** The node version the flags were chosen for. */
  fromVersion: string;
}

/** Options of `reboot`. */
export interface RebootOptions extends CallOptions {
  /** `--mode`: `default` or `powercycle`. */
  mode?: "default" | "powercycle";
  /** `--wait` (default true). */
  wait?: boolean;
  /** `--timeout` of the tracking. */
  trackTimeoutMs?: number;
}

/** The result of one node of `onNodes`. */
export type NodeResult<T> =
  | {
      /** The node, as it was passed. */
      node: string;
      /** The call succeeded on this node. */
      ok: true;
      /** What the call returned for it. */
      value: T;
    }
  | {
      /** The node, as it was passed. */
      node: string;
      /** The call failed on this node with a TalosctlError (the other nodes still ran). */
      ok: false;
      /** Why: its code, the command, exit code and redacted output excerpts. */
      error: TalosctlError;
    };

/** Options of `onNodes`. */
export interface OnNodesOptions {
  /** Calls in flight at once (default 4). Use 1 for control planes during upgrades. */
  concurrency?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_OUTPUT = 64 * 1024 * 1024;
const NODE_RE = /^[A-Za-z0-9_.:[\]%-]{1,253}$/;
const TYPE_RE = /^[A-Za-z0-9_.-]{1,253}$/;
const MIN = 60_000;

/** Creates a client: finds the binary, reads its version, checks the talosconfig. */
export async function createTalosctl(options: TalosctlOptions = {}): Promise<Talosctl> {
  const env = { ...process.env, ...options.env };
  const binary = await locateTalosctl(options.binary, env);
  let talosconfig: TalosconfigSummary | undefined;
  const configPath = options.talosconfig ?? (env.TALOSCONFIG ? env.TALOSCONFIG : undefined);
  if (options.talosconfig !== undefined)
    talosconfig = await readTalosconfig(options.talosconfig, options.context);
  else if (configPath !== undefined) {
    // talosctl itself skips a $TALOSCONFIG that does not exist; so do we.
    try {
      talosconfig = await readTalosconfig(configPath, options.context);
    } catch (e) {
      if (!(e instanceof TalosctlError && /does not exist/.test(e.message))) throw e;
    }
  }
  const client = new Talosctl(binary, options, talosconfig);
  await client.detectVersion();
  return client;
}

/** A talosctl client bound to one binary, talosconfig and context. Create it with `createTalosctl`. */
export class Talosctl {
  /** The binary that runs. */
  readonly binary: string;
  /** What was read from the talosconfig (names and addresses only), when one was checked. */
  readonly talosconfig: TalosconfigSummary | undefined;
  private readonly options: TalosctlOptions;
  private client: TalosVersion | undefined;

  /** @internal Use `createTalosctl`. */
  constructor(binary: string, options: TalosctlOptions, talosconfig: TalosconfigSummary | undefined) {
    this.binary = binary;
    this.options = options;
    this.talosconfig = talosconfig;
  }

  /** The client version (`talosctl version --client`). */
  get clientVersion(): TalosVersion {
    if (!this.client)
      throw new Error("createTalosctl() detects the version; do not construct Talosctl directly");
    return this.client;
  }

  /** What this client's flags allow. */
  get features(): ClientFeatures {
    return clientFeatures(this.clientVersion);
  }

  /** @internal Reads and checks the client version. */
  async detectVersion(): Promise<void> {
    const out = await this.exec(
      undefined,
      ["version", "--client"],
      "version",
      "version --client",
      { timeoutMs: Math.min(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 30_000) },
      undefined,
      false,
      1024 * 1024,
    );
    const v = parseClientVersionOutput(out.stdout);
    if (!v) {
      throw new TalosctlError({
        code: "TALOSCTL_UNSUPPORTED_VERSION",
        message: `${this.binary} printed no client version tag for \`version --client\``,
        hint: "Check that TALOSCTL points at talosctl.",
        command: out.command,
      });
    }
    if (!isSupportedClient(v)) {
      throw new TalosctlError({
        code: "TALOSCTL_UNSUPPORTED_VERSION",
        message: `talosctl ${v.tag} is not supported (supported: >= v${SUPPORTED_CLIENT_VERSIONS.min}, < v${SUPPORTED_CLIENT_VERSIONS.maxExclusive})`,
        hint: "Install a talosctl 1.12, 1.13 or 1.14 (ideally the version of your cluster).",
        command: out.command,
      });
    }
    this.client = v;
  }

  /** The node's Talos version (the `Server:` block of `talosctl version`). */
  async version(node: string, opts: CallOptions = {}): Promise<ServerVersion> {
    const out = await this.exec(node, ["version"], "version", "version", opts);
    const v = parseServerVersion(out.stdout, node);
    if (!v) throw this.outputInvalid(node, "version", out.command, "no Server block with a Tag line");
    return v;
  }

  /**
   * `talosctl get <type> [id]` on one node. JSON output is parsed while it streams; YAML output
   * is read with the YAML core schema. A missing id is TALOSCTL_NOT_FOUND_RESOURCE.
   */
  async get(node: string, type: string, id?: string, opts: GetOptions = {}): Promise<TalosctlResource[]> {
    if (!TYPE_RE.test(type) || type.startsWith("-"))
      throw this.badArgument(node, `resource type ${JSON.stringify(type)}`);
    if (id !== undefined && (id === "" || id.startsWith("-") || /[\r\n\0]/.test(id))) {
      throw this.badArgument(node, `resource id ${JSON.stringify(id)}`);
    }
    if (opts.namespace !== undefined && !TYPE_RE.test(opts.namespace)) {
      throw this.badArgument(node, `namespace ${JSON.stringify(opts.namespace)}`);
    }
    const output = opts.output ?? "json";
    const args = ["get", type, ...(id !== undefined ? [id] : []), "--output", output];
    if (opts.namespace !== undefined) args.push("--namespace", opts.namespace);
    const what = `get ${type}${id !== undefined ? ` ${id}` : ""}`;
    if (output === "yaml") {
      const out = await this.exec(node, args, "get", what, opts);
      try {
        return parseGetYaml(out.stdout);
      } catch (e) {
        throw this.outputInvalid(node, what, out.command, (e as Error).message, e);
      }
    }
    const resources: TalosctlResource[] = [];
    const splitter = new JsonObjectSplitter();
    // The caller's own exception from onResource stops the call and is rethrown as it is.
    let callbackError: { error: unknown } | undefined;
    const take = (objects: unknown[]) => {
      for (const o of objects) {
        const r = checkResource(o);
        resources.push(r);
        try {
          opts.onResource?.(r);
        } catch (error) {
          callbackError = { error };
          throw error;
        }
      }
    };
    let out: RunOutput;
    try {
      out = await this.exec(node, args, "get", what, opts, (chunk) => take(splitter.push(chunk)));
    } catch (e) {
      if (callbackError) throw callbackError.error;
      throw e;
    }
    try {
      take(splitter.end());
    } catch (e) {
      throw this.outputInvalid(node, what, out.command, (e as Error).message, e);
    }
    return resources;
  }

  /** The node's extensions (ExtensionStatus), the `schematic` extension's extraInfo decoded. */
  async extensions(node: string, opts: CallOptions = {}): Promise<ExtensionStatus[]> {
    const list = await this.get(node, "extensions", undefined, opts);
    return list.map(toExtensionStatus);
  }

  /** The node's role (`get machinetype`). */
  async machineType(node: string, opts: CallOptions = {}): Promise<MachineType> {
    const [r] = await this.get(node, "machinetype", undefined, opts);
    const spec = r?.spec;
    if (spec !== "controlplane" && spec !== "worker" && spec !== "init" && spec !== "unknown") {
      throw this.outputInvalid(
        node,
        "get machinetype",
        undefined,
        "no MachineType resource with a known role",
      );
    }
    return spec;
  }

  /** Every service of the node with its state and health (`talosctl service`). */
  async services(node: string, opts: CallOptions = {}): Promise<ServiceSummary[]> {
    const out = await this.exec(node, ["service"], "service", "service", opts);
    return parseServiceTable(out.stdout);
  }

  /** One service's state, health and events (`talosctl service <id>`); unknown ids are TALOSCTL_NOT_FOUND_RESOURCE. */
  async service(node: string, id: string, opts: CallOptions = {}): Promise<ServiceStatus> {
    if (!TYPE_RE.test(id) || id.startsWith("-"))
      throw this.badArgument(node, `service id ${JSON.stringify(id)}`);
    const out = await this.exec(node, ["service", id], "service", `service ${id}`, opts);
    const status = parseServiceStatus(out.stdout);
    if (!status)
      throw this.outputInvalid(node, `service ${id}`, out.command, "no ID line in the status block");
    return status;
  }

  /** Runs the cluster health check on one control-plane node; resolves once healthy. */
  async health(node: string, opts: HealthOptions = {}): Promise<void> {
    const wait = opts.waitTimeoutMs ?? 20 * MIN;
    const args = ["health", "--wait-timeout", goDuration(wait)];
    if (opts.controlPlaneNodes?.length)
      args.push("--control-plane-nodes", this.nodeList(opts.controlPlaneNodes));
    if (opts.workerNodes?.length) args.push("--worker-nodes", this.nodeList(opts.workerNodes));
    if (opts.k8sEndpoint !== undefined) args.push("--k8s-endpoint", opts.k8sEndpoint);
    try {
      await this.exec(node, args, "health", "health", { ...opts, timeoutMs: opts.timeoutMs ?? wait + MIN });
    } catch (e) {
      if (
        e instanceof TalosctlError &&
        (e.code === "TALOSCTL_COMMAND_FAILED" || e.code === "TALOSCTL_TIMEOUT") &&
        !e.timedOut
      ) {
        throw new TalosctlError({
          ...fields(e),
          code: "TALOSCTL_UNHEALTHY",
          hint: "Read stderr: it names the check that did not pass.",
        });
      }
      throw e;
    }
  }

  /** A service's log lines (`talosctl logs <id>`), without talosctl's `<node>: ` prefix. */
  async logs(node: string, id: string, opts: LogsOptions = {}): Promise<string[]> {
    if (!TYPE_RE.test(id) || id.startsWith("-"))
      throw this.badArgument(node, `service id ${JSON.stringify(id)}`);
    const args = ["logs", id];
    if (opts.tail !== undefined) {
      if (!Number.isInteger(opts.tail) || opts.tail < 0 || opts.tail > 2 ** 31 - 1)
        throw this.badArgument(node, `tail ${opts.tail}`);
      args.push("--tail", String(opts.tail));
    }
    if (opts.kubernetes) args.push("--kubernetes");
    const out = await this.exec(node, args, "logs", `logs ${id}`, opts, undefined, true);
    const lines = out.stdout.split("\n");
    if (lines.at(-1) === "") lines.pop();
    return stripNodePrefix(lines, node);
  }

  /** A file from the node (`talosctl read <path>`), as text. */
  async read(node: string, path: string, opts: ReadOptions = {}): Promise<string> {
    if (!path.startsWith("/") || /[\r\n\0]/.test(path))
      throw this.badArgument(node, `path ${JSON.stringify(path)}`);
    const out = await this.exec(
      node,
      ["read", path],
      "read",
      `read ${path}`,
      opts,
      undefined,
      true,
      opts.maxBytes,
    );
    return out.stdout;
  }

  /**
   * The exact talosctl command `upgrade` would run for this node, without running anything: the
   * flags chosen for this client and a node at `serverVersion`. Throws what `upgrade` throws for
   * an option the path would ignore (TALOSCTL_UNSUPPORTED_OPTION) or a bad argument.
   */
  upgradeCommand(
    node: string,
    opts: UpgradeOptions & {
      /** The node's Talos version (`v1.11.2`), required here: with the client's, it picks the path and flags. */
      serverVersion: string;
    },
  ): UpgradeCommand {
    this.checkNode(node);
    if (
      typeof opts.image !== "string" ||
      opts.image === "" ||
      opts.image.startsWith("-") ||
      /\s/.test(opts.image)
    ) {
      throw this.badArgument(node, `installer image ${JSON.stringify(opts.image)}`);
    }
    const serverTag = opts.serverVersion;
    const server = parseTalosVersion(serverTag);
    if (!server)
      throw this.outputInvalid(
        node,
        "version",
        undefined,
        `unreadable server version ${JSON.stringify(serverTag)}`,
      );
    const f = this.features;
    const lifecycleAvailable = f.lifecycleUpgrade && serverHasLifecycle(server);
    const stage = opts.stage ?? false;
    const wait = opts.wait ?? true;
    const args = ["upgrade", "--image", opts.image];
    const refuse = (what: string, hint: string): never => {
      throw new TalosctlError({
        code: "TALOSCTL_UNSUPPORTED_OPTION",
        node,
        message: `upgrade of node ${node} (talosctl ${this.clientVersion.tag}, node ${server.tag}): ${what}`,
        hint,
      });
    };
    let path: "lifecycle" | "legacy";
    if (stage) {
      if (opts.drain === true)
        refuse(
          "drain does not apply to a staged upgrade (nothing reboots)",
          "Drain when you reboot the node.",
        );
      if (opts.drainTimeoutMs !== undefined)
        refuse("drainTimeoutMs does not apply to a staged upgrade", "Leave it out.");
      if (opts.rebootMode !== undefined && opts.rebootMode !== "default")
        refuse("rebootMode does not apply to a staged upgrade", "Pass it to reboot().");
      if (lifecycleAvailable && f.noReboot) {
        path = "lifecycle";
        if (opts.force) refuse("force is ignored on the Lifecycle path", "Leave it out.");
        args.push("--no-reboot");
      } else {
        path = "legacy";
        args.push("--stage");
        if (f.legacyFlag) args.push("--legacy");
        if (opts.force) args.push("--force");
      }
    } else if (lifecycleAvailable) {
      path = "lifecycle";
      if (opts.force)
        refuse(
          "force is ignored on the Lifecycle path (it runs no etcd checks)",
          "Check etcd yourself before upgrading a control plane.",
        );
      if (!wait && opts.drain !== false) {
        refuse(
          "wait: false has no effect while draining (drain forces wait)",
          "Pass drain: false with wait: false.",
        );
      }
      if (opts.drain !== undefined) args.push(`--drain=${opts.drain}`);
      if (opts.drainTimeoutMs !== undefined) {
        if (opts.drain === false) refuse("drainTimeoutMs without drain", "Leave it out, or drain.");
        args.push("--drain-timeout", goDuration(opts.drainTimeoutMs));
      }
      if (opts.rebootMode !== undefined) args.push("--reboot-mode", opts.rebootMode);
    } else {
      path = "legacy";
      if (opts.drain === true || opts.drainTimeoutMs !== undefined) {
        refuse(
          f.drainFlags
            ? `the node runs ${server.tag}, which only has the legacy upgrade API: there is no drain`
            : `talosctl ${this.clientVersion.tag} has no drain`,
          "Drain with kubectl first, or use talosctl >= 1.13 against nodes >= 1.13.",
        );
      }
      if (opts.rebootMode === "force")
        refuse("rebootMode force is rejected on the legacy path", "Use default or powercycle.");
      if (f.legacyFlag) args.push("--legacy");
      if (opts.rebootMode !== undefined) args.push("--reboot-mode", opts.rebootMode);
      if (opts.force) args.push("--force");
    }
    if (!stage) {
      if (!wait) args.push("--wait=false");
      else if (opts.trackTimeoutMs !== undefined) args.push("--timeout", goDuration(opts.trackTimeoutMs));
    }
    const tracked = stage || !wait ? 10 * MIN : (opts.trackTimeoutMs ?? 30 * MIN);
    const drainBudget =
      path === "lifecycle" && !stage && opts.drain !== false ? (opts.drainTimeoutMs ?? 5 * MIN) : 0;
    const timeoutMs = opts.timeoutMs ?? tracked + drainBudget + 5 * MIN;
    return {
      path,
      argv: [this.binary, ...this.globals(node), ...args],
      args,
      timeoutMs,
      staged: stage,
      fromVersion: server.tag,
    };
  }

  /**
   * Upgrades one node. Asks the node's version first (unless given) to know which path talosctl
   * will take, then passes only flags that path honours; an option it would ignore is
   * TALOSCTL_UNSUPPORTED_OPTION before anything runs.
   */
  async upgrade(node: string, opts: UpgradeOptions): Promise<UpgradeResult> {
    this.checkNode(node);
    if (
      typeof opts.image !== "string" ||
      opts.image === "" ||
      opts.image.startsWith("-") ||
      /\s/.test(opts.image)
    ) {
      throw this.badArgument(node, `installer image ${JSON.stringify(opts.image)}`);
    }
    const serverVersion = opts.serverVersion ?? (await this.version(node, { signal: opts.signal })).tag;
    const {
      path,
      args,
      timeoutMs,
      staged: stage,
      fromVersion,
    } = this.upgradeCommand(node, { ...opts, serverVersion });
    let out: RunOutput;
    try {
      out = await this.exec(node, args, "upgrade", "upgrade", { signal: opts.signal, timeoutMs });
    } catch (e) {
      if (!(e instanceof TalosctlError)) throw e;
      if (e.code === "TALOSCTL_UPGRADE_FAILED") {
        throw new TalosctlError({ ...fields(e), installerOutput: installerLines(e.stderr ?? "", node) });
      }
      if (e.code === "TALOSCTL_DRAIN_FAILED" || e.code === "TALOSCTL_REBOOT_TIMEOUT") {
        throw new TalosctlError({
          ...fields(e),
          armed: e.code === "TALOSCTL_DRAIN_FAILED" ? true : undefined,
        });
      }
      throw e;
    }
    return { node, path, staged: stage, fromVersion, command: out.command, progress: out.stderr };
  }

  /** Reverts the node to its previous boot entry; the node reboots at once and the call returns before it is back. */
  async rollback(node: string, opts: CallOptions = {}): Promise<void> {
    await this.exec(node, ["rollback"], "rollback", "rollback", opts);
  }

  /** Reboots one node (an armed node comes back on its new version). */
  async reboot(node: string, opts: RebootOptions = {}): Promise<void> {
    const args = ["reboot"];
    if (opts.mode !== undefined) {
      if (opts.mode !== "default" && opts.mode !== "powercycle")
        throw this.badArgument(node, `reboot mode ${JSON.stringify(opts.mode)}`);
      args.push("--mode", opts.mode);
    }
    const wait = opts.wait ?? true;
    if (!wait) args.push("--wait=false");
    else if (opts.trackTimeoutMs !== undefined) args.push("--timeout", goDuration(opts.trackTimeoutMs));
    const timeoutMs =
      opts.timeoutMs ?? (wait ? (opts.trackTimeoutMs ?? 30 * MIN) + 5 * MIN : DEFAULT_TIMEOUT_MS);
    await this.exec(node, args, "reboot", "reboot", { signal: opts.signal, timeoutMs });
  }

  /** The etcd members as one control-plane node sees them (`talosctl etcd members`). */
  async etcdMembers(node: string, opts: CallOptions = {}): Promise<EtcdMember[]> {
    const out = await this.exec(node, ["etcd", "members"], "etcd", "etcd members", opts);
    return parseEtcdMembers(out.stdout);
  }

  /** The etcd member status of one control-plane node (`talosctl etcd status`). */
  async etcdStatus(node: string, opts: CallOptions = {}): Promise<EtcdMemberStatus> {
    const out = await this.exec(node, ["etcd", "status"], "etcd", "etcd status", opts);
    const status = parseEtcdStatus(out.stdout);
    if (!status) throw this.outputInvalid(node, "etcd status", out.command, "no status row");
    return status;
  }

  /**
   * Runs `fn` for every node, one talosctl call per node, at most `concurrency` at a time, and
   * returns one result per node in the order given: one bad node never hides the others.
   */
  async onNodes<T>(
    nodes: readonly string[],
    fn: (node: string) => Promise<T>,
    options: OnNodesOptions = {},
  ): Promise<NodeResult<T>[]> {
    const results: NodeResult<T>[] = new Array(nodes.length);
    const limit = Math.max(1, Math.min(options.concurrency ?? 4, nodes.length || 1));
    let next = 0;
    let bug: unknown;
    const worker = async () => {
      while (next < nodes.length) {
        const i = next++;
        const node = nodes[i]!;
        try {
          results[i] = { node, ok: true, value: await fn(node) };
        } catch (e) {
          if (e instanceof TalosctlError) results[i] = { node, ok: false, error: e };
          else bug ??= e;
        }
      }
    };
    await Promise.all(Array.from({ length: limit }, worker));
    if (bug !== undefined) throw bug;
    return results;
  }

  private globals(node: string | undefined): string[] {
    const g: string[] = [];
    if (this.talosconfig) g.push("--talosconfig", this.talosconfig.path);
    if (this.options.context !== undefined) g.push("--context", this.options.context);
    if (this.options.endpoints?.length) g.push("--endpoints", this.options.endpoints.join(","));
    if (node !== undefined) g.push("--nodes", node);
    return g;
  }

  private checkNode(node: string): void {
    if (typeof node !== "string" || !NODE_RE.test(node) || node.startsWith("-")) {
      throw new TalosctlError({
        code: "TALOSCTL_INVALID_ARGUMENT",
        message: `node ${JSON.stringify(node)} is not one node name or address`,
        hint: "Pass one node per call (no commas, no spaces); use onNodes() for several.",
      });
    }
  }

  private nodeList(list: string[]): string {
    for (const n of list) this.checkNode(n);
    return list.join(",");
  }

  private badArgument(node: string, what: string): TalosctlError {
    return new TalosctlError({
      code: "TALOSCTL_INVALID_ARGUMENT",
      node,
      message: `invalid ${what} for node ${node}`,
      hint: "Names must not start with '-' or hold line breaks; types are letters, digits, '.', '_' and '-'.",
    });
  }

  private outputInvalid(
    node: string,
    what: string,
    command: string[] | undefined,
    why: string,
    cause?: unknown,
  ): TalosctlError {
    const truncated = cause instanceof JsonStreamError && cause.reason === "truncated";
    return new TalosctlError({
      code:
        cause instanceof JsonStreamError && cause.reason === "too-large"
          ? "TALOSCTL_OUTPUT_TOO_LARGE"
          : "TALOSCTL_OUTPUT_INVALID",
      node,
      command,
      message: `talosctl ${what} on node ${node}: ${why}`,
      hint: truncated
        ? "talosctl's output was cut short (killed, or a broken pipe); run the call again."
        : "This talosctl prints a format this package does not know; report it with `talosctl version --client`.",
      cause,
    });
  }

  private exec(
    node: string | undefined,
    args: string[],
    kind: Parameters<typeof runTalosctl>[0]["kind"],
    what: string,
    opts: CallOptions,
    onStdout?: (chunk: string) => void,
    secretOutput = false,
    maxBytes?: number,
  ): Promise<RunOutput> {
    if (node !== undefined) this.checkNode(node);
    const signals = [this.options.signal, opts.signal].filter((s): s is AbortSignal => s !== undefined);
    const argv = [...this.globals(node), ...args];
    return runTalosctl({
      binary: this.binary,
      argv,
      env: this.options.env,
      node,
      kind,
      what,
      timeoutMs: opts.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      signal: signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals),
      onStdout,
      maxOutputBytes: maxBytes ?? this.options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT,
      secretOutput,
      consumerError: (e) =>
        e instanceof TalosctlError
          ? e
          : this.outputInvalid(node ?? "", what, [this.binary, ...argv], (e as Error).message, e),
    });
  }
}

function fields(e: TalosctlError) {
  return {
    code: e.code,
    message: e.message,
    hint: e.hint,
    node: e.node,
    command: e.command,
    exitCode: e.exitCode,
    signal: e.signal,
    timedOut: e.timedOut,
    isCanceled: e.isCanceled,
    stdout: e.stdout,
    stderr: e.stderr,
    installerOutput: e.installerOutput,
    armed: e.armed,
    cause: e.cause,
  };
}

/** The installer's lines in talosctl's upgrade progress: everything but talosctl's own status lines. */
function installerLines(stderr: string, node: string): string {
  return stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("WARNING:"))
    .map((l) => (l.startsWith(`${node}: `) ? l.slice(node.length + 2) : l))
    .join("\n");
}
