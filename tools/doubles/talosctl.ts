#!/usr/bin/env node
/**
 * A stand-in for `talosctl` against a small Talos cluster, which cannot run on these machines.
 * The cluster lives in a JSON state file (TALOSCTL_DOUBLE_STATE; format in README.md next to this
 * file). The double emulates the client version the state names (1.12, 1.13, 1.14): which flags
 * exist, which upgrade path is taken, what is silently ignored, and prints the outputs and error
 * lines of the real one (reference: shared/reference/talos-extensions.md §5-§6,
 * installer-and-upgrade.md "Corrections and additions"). Upgrades, reboots and rollbacks update
 * the state; faults are injected per node. Every invocation is appended to TALOSCTL_DOUBLE_LOG
 * (one JSON line: argv, pid) when that is set.
 */
import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from "node:fs";
import {
  type DoubleResource,
  formatJsonResource,
  formatYamlResource,
  goDurationString,
  humanBytes,
  parseGoDuration,
  tabwrite,
} from "./talosctl-format.ts";

// ---------------------------------------------------------------------------------------------
// State

interface ExtensionEntry {
  name: string;
  version: string;
  author?: string;
  description?: string;
  compatibility?: string;
  extraInfo?: string;
  /** Positional ids are given by order; virtual entries may carry their own (`modules.dep`). */
  id?: string;
  /** The `ext-<name>` service this extension runs, if any. */
  service?: string;
}

interface BootEntry {
  version: string;
  image?: string;
  extensions: ExtensionEntry[];
  /** Set on `pending` by a legacy `--stage`: META key 0x07 (StagedUpgradeImageRef) holds the image. */
  staged?: boolean;
}

interface ServiceEntry {
  id: string;
  state?: string;
  health?: string;
  lastHealthMessage?: string;
  events?: { state: string; message: string }[];
}

interface Faults {
  unreachable?: boolean;
  auth?: boolean;
  slowMs?: number;
  upgradeFails?: { exitCode?: number; output?: string[] };
  neverBack?: boolean;
  dropExtensions?: string[];
  serviceFails?: string[];
  drainFails?: string | boolean;
  busy?: boolean;
  truncateJson?: boolean;
  garbageOutput?: boolean;
}

interface NodeState {
  hostname?: string;
  role: "controlplane" | "worker" | "init";
  boot: { current: BootEntry; previous?: BootEntry | null; pending?: BootEntry | null };
  services?: ServiceEntry[];
  etcd?: {
    memberId?: string;
    dbSize?: number;
    dbSizeInUse?: number;
    raftIndex?: number;
    raftTerm?: number;
    raftAppliedIndex?: number;
    learner?: boolean;
    errors?: string[];
  };
  healthy?: boolean;
  down?: boolean;
  bootId?: number;
  bootedAt?: string;
  logs?: Record<string, string[]>;
  files?: Record<string, string>;
  resources?: {
    type: string;
    aliases?: string[];
    namespace?: string;
    id: string;
    owner?: string;
    spec: unknown;
  }[];
  faults?: Faults;
}

interface State {
  clientVersion: string;
  images?: Record<string, BootEntry>;
  etcd?: { leader?: string };
  nodes: Record<string, NodeState>;
}

const statePath = process.env.TALOSCTL_DOUBLE_STATE;
const argvAll = process.argv.slice(2);
if (process.env.TALOSCTL_DOUBLE_LOG) {
  appendFileSync(process.env.TALOSCTL_DOUBLE_LOG, `${JSON.stringify({ argv: argvAll, pid: process.pid })}\n`);
}

/**
 * With TALOSCTL_DOUBLE_PULL=1, an installer the state does not list is pulled from a local
 * registry (127.0.0.1 / localhost, plain HTTP), as a node pulls it, and what it installs is read
 * from its boot assets. The reading is @talos-ext/installer's inspection, itself tested against
 * images made by GNU cpio, zstd/xz and objcopy; end-to-end tests use this to boot what was composed.
 */
async function pullInstaller(image: string): Promise<BootEntry | undefined> {
  if (process.env.TALOSCTL_DOUBLE_PULL !== "1" || !/^(?:127\.0\.0\.1|localhost)(?::\d+)?\//.test(image)) {
    return undefined;
  }
  const { inspectInstaller } = await import("../../packages/installer/src/index.ts");
  let report: Awaited<ReturnType<typeof inspectInstaller>>;
  try {
    report = await inspectInstaller(image, {
      insecure: true,
      arch: process.env.TALOSCTL_DOUBLE_ARCH ?? "amd64",
    });
  } catch {
    return undefined; // the caller reports the pull failure as a node does
  }
  if (!report.talosVersion) return undefined;
  return {
    version: report.talosVersion,
    extensions: report.extensions.map((e) => ({
      id: e.id,
      name: e.name,
      version: e.version,
      ...(e.author ? { author: e.author } : {}),
      ...(e.description ? { description: e.description } : {}),
      ...(e.talos ? { compatibility: e.talos } : {}),
    })),
  };
}

function die(message: string, code = 1): never {
  process.stderr.write(message.endsWith("\n") ? message : `${message}\n`);
  process.exit(code);
}

if (!statePath) die("talosctl double: TALOSCTL_DOUBLE_STATE is not set", 2);

function loadState(): State {
  return JSON.parse(readFileSync(statePath!, "utf8")) as State;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Read-modify-write under a lock directory, written by rename (parallel calls for other nodes). */
async function update(fn: (s: State) => void): Promise<void> {
  const lock = `${statePath}.lock`;
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 10_000) rmdirSync(lock);
      } catch {}
      if (i > 2000) die("talosctl double: state lock timeout", 2);
      await sleep(5);
    }
  }
  try {
    const s = loadState();
    fn(s);
    const tmp = `${statePath}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`);
    renameSync(tmp, statePath!);
  } finally {
    rmdirSync(lock);
  }
}

const state = loadState();

function parseVersion(tag: string): [number, number, number, string] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-(.+))?$/.exec(tag);
  if (!m) die(`talosctl double: bad version ${tag} in state`, 2);
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ?? ""];
}
const client = parseVersion(state.clientVersion);
const clientMinor = client[1];
const clientTag = state.clientVersion.startsWith("v") ? state.clientVersion : `v${state.clientVersion}`;

// ---------------------------------------------------------------------------------------------
// Command line: global flags, the command path, its flags. Flag sets follow the client version.

type FlagSpec = { name: string; short?: string; bool?: boolean };
const GLOBAL: FlagSpec[] = [
  { name: "talosconfig" },
  { name: "context" },
  { name: "nodes", short: "n" },
  { name: "endpoints", short: "e" },
  { name: "cluster", short: "c" },
];

function upgradeFlags(): FlagSpec[] {
  const f: FlagSpec[] = [
    { name: "image", short: "i" },
    { name: "reboot-mode", short: "m" },
    { name: "wait", bool: true },
    { name: "debug", bool: true },
    { name: "timeout" },
    { name: "stage", short: "s", bool: true },
    { name: "force", short: "f", bool: true },
    { name: "preserve", short: "p", bool: true },
  ];
  if (clientMinor <= 13) f.push({ name: "insecure", bool: true });
  if (clientMinor >= 13) {
    f.push({ name: "drain", bool: true }, { name: "drain-timeout" }, { name: "legacy", bool: true });
    f.push({ name: "namespace" }, { name: "progress" });
  }
  if (clientMinor >= 14) f.push({ name: "no-reboot", bool: true });
  return f;
}

const COMMANDS: Record<string, () => FlagSpec[]> = {
  version: () => [
    { name: "client", bool: true },
    { name: "short", bool: true },
    { name: "json", bool: true },
    { name: "insecure", short: "i", bool: true },
  ],
  get: () => [
    { name: "output", short: "o" },
    { name: "namespace" },
    { name: "watch", short: "w", bool: true },
    { name: "insecure", short: "i", bool: true },
  ],
  upgrade: upgradeFlags,
  reboot: () => [
    { name: "mode", short: "m" },
    { name: "wait", bool: true },
    { name: "debug", bool: true },
    { name: "timeout" },
  ],
  rollback: () => [],
  health: () => [
    { name: "wait-timeout" },
    { name: "server", bool: true },
    { name: "control-plane-nodes" },
    { name: "worker-nodes" },
    { name: "init-node" },
    { name: "k8s-endpoint" },
    { name: "run-e2e", bool: true },
  ],
  service: () => [],
  services: () => [],
  logs: () => [
    { name: "follow", short: "f", bool: true },
    { name: "tail" },
    { name: "kubernetes", short: "k", bool: true },
  ],
  read: () => [],
  "etcd members": () => [],
  "etcd status": () => [],
};

function usageError(message: string): never {
  die(`${message}\n\nUse "talosctl --help" for more information about a command.`);
}

const flags = new Map<string, string>();
const positional: string[] = [];
{
  const rest: string[] = [];
  // First pass: find the command (first non-flag words), skipping global flag values.
  for (let i = 0; i < argvAll.length; i++) {
    const a = argvAll[i]!;
    if (a.startsWith("-")) {
      const name = a.replace(/^-+/, "").split("=")[0]!;
      const g = GLOBAL.find((s) => s.name === name || s.short === name);
      if (g && !a.includes("=") && !g.bool) i++;
      continue;
    }
    rest.push(a);
  }
  const head = rest[0] === "etcd" ? `etcd ${rest[1] ?? ""}` : rest[0];
  if (head === undefined) usageError("talosctl double: no command");
  if (!(head in COMMANDS)) usageError(`unknown command "${head}" for "talosctl"`);
  const cmd = head;
  const specs = [...GLOBAL, ...COMMANDS[cmd]!()];
  let skippedWords = cmd.split(" ").length;
  for (let i = 0; i < argvAll.length; i++) {
    const a = argvAll[i]!;
    if (a.startsWith("-") && a !== "-") {
      const long = a.startsWith("--");
      const [rawName, inline] = a.replace(/^-+/, "").split(/=(.*)/s) as [string, string | undefined];
      const spec = specs.find((s) => (long ? s.name === rawName : s.short === rawName));
      if (!spec)
        usageError(long ? `unknown flag: --${rawName}` : `unknown shorthand flag: '${rawName}' in ${a}`);
      let value: string;
      if (spec.bool) value = inline ?? "true";
      else if (inline !== undefined) value = inline;
      else {
        const next = argvAll[++i];
        if (next === undefined) usageError(`flag needs an argument: --${spec.name}`);
        value = next;
      }
      if (spec.bool && value !== "true" && value !== "false") {
        usageError(
          `invalid argument "${value}" for "--${spec.name}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
        );
      }
      flags.set(spec.name, value);
      continue;
    }
    if (skippedWords > 0) {
      skippedWords--;
      continue;
    }
    positional.push(a);
  }
  flags.set("__cmd", cmd);
}
const command = flags.get("__cmd")!;
const has = (name: string) => flags.has(name);
const bool = (name: string, dflt: boolean) => (flags.has(name) ? flags.get(name) === "true" : dflt);

// ---------------------------------------------------------------------------------------------
// Node access and the Talos API's error texts

const grpcUnavailable = (node: string) =>
  `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp ${node}:50000: connect: connection refused"`;
const grpcAuth =
  'rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"';

/** An error for one node, framed as the client version frames it (apid aggregation before 1.14). */
function nodeError(node: string, text: string): string {
  return clientMinor >= 14 ? `${node}: ${text}` : `1 error occurred:\n\t* ${node}: ${text}\n`;
}

function targetNodes(): string[] {
  const list = (flags.get("nodes") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) {
    die(
      "nodes are not set for the command: please use `--nodes` flag or configuration file to set the nodes to run the command against",
    );
  }
  return list;
}

/** Why a node cannot be reached, as the API says it; undefined when it can. */
function reachError(node: string): string | undefined {
  const n = state.nodes[node];
  if (!n) {
    return /^[\d.:[\]]+$/.test(node)
      ? `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp ${node}:50000: i/o timeout"`
      : `rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp: lookup ${node}: no such host"`;
  }
  if (n.faults?.auth) return grpcAuth;
  if (n.faults?.unreachable || n.down) return grpcUnavailable(node);
  return undefined;
}

/** The 1.14 client's version check before any output; a slow node answers late. */
async function contact(node: string, kind: "get" | "other"): Promise<NodeState> {
  const n = state.nodes[node];
  if (n?.faults?.slowMs) await sleep(n.faults.slowMs);
  const err = reachError(node);
  if (err) {
    if (kind === "get" && clientMinor >= 14) die(`error getting version from node ${node}: ${err}`);
    die(nodeError(node, err));
  }
  if (clientMinor >= 14) {
    const sv = parseVersion(n!.boot.current.version);
    if (sv[0] < client[0] || (sv[0] === client[0] && sv[1] < client[1])) {
      process.stderr.write(
        `WARNING: ${node}: server version ${n!.boot.current.version} is older than client version ${clientTag}\n`,
      );
    }
  }
  return n!;
}

function single(name: string): string {
  const nodes = targetNodes();
  if (nodes.length !== 1) die(`command "${name}" requires exactly one node (got ${nodes.length})`);
  return nodes[0]!;
}

// ---------------------------------------------------------------------------------------------
// Resources

const EXT_TYPE = "ExtensionStatuses.runtime.talos.dev";
const RESOURCE_TYPES: { type: string; namespace: string; aliases: string[] }[] = [
  {
    type: EXT_TYPE,
    namespace: "runtime",
    aliases: ["extensions", "extension", "extensionstatus", "extensionstatuses", "es", "ess"],
  },
  {
    type: "Services.v1alpha1.talos.dev",
    namespace: "runtime",
    aliases: ["services", "service", "svc", "svcs"],
  },
  { type: "MachineTypes.config.talos.dev", namespace: "config", aliases: ["machinetype", "machinetypes"] },
  { type: "Versions.runtime.talos.dev", namespace: "runtime", aliases: ["version", "versions"] },
  {
    type: "MachineStatuses.runtime.talos.dev",
    namespace: "runtime",
    aliases: ["machinestatus", "machinestatuses"],
  },
  { type: "MetaKeys.runtime.talos.dev", namespace: "runtime", aliases: ["metakey", "metakeys"] },
];

function created(n: NodeState): string {
  return (n.bootedAt ?? "2026-08-01T10:00:00Z").replace(/\.\d+Z$/, "Z");
}

function extensionIds(entry: BootEntry): { ext: ExtensionEntry; id: string }[] {
  let i = 0;
  return entry.extensions.map((ext) => ({ ext, id: ext.id ?? String(i++) }));
}

function serviceList(n: NodeState): ServiceEntry[] {
  const base: ServiceEntry[] =
    n.services ??
    (n.role === "worker"
      ? ["apid", "containerd", "cri", "kubelet", "machined", "udevd"]
      : ["apid", "containerd", "cri", "etcd", "kubelet", "machined", "trustd", "udevd"]
    ).map((id) => ({ id }));
  const ext = n.boot.current.extensions
    .filter((e) => e.service)
    .map((e): ServiceEntry => ({ id: e.service! }));
  const fails = new Set(n.faults?.serviceFails ?? []);
  return [...base, ...ext].map((s) => {
    if (fails.has(s.id)) {
      return {
        id: s.id,
        state: "Waiting",
        health: "?",
        events: [
          { state: "Preparing", message: "Creating service runner" },
          { state: "Waiting", message: 'Waiting for service "udevd" to be "up", path "/dev/mapper/control"' },
        ],
      };
    }
    const unknownHealth = s.id === "machined" || s.id.startsWith("ext-");
    return {
      id: s.id,
      state: s.state ?? "Running",
      health: s.health ?? (unknownHealth ? "?" : "OK"),
      lastHealthMessage: s.lastHealthMessage,
      events: s.events ?? [
        { state: "Preparing", message: "Running pre state" },
        { state: "Preparing", message: "Creating service runner" },
        {
          state: "Running",
          message: unknownHealth ? "Service started as goroutine" : "Health check successful",
        },
      ],
    };
  });
}

function resourcesOf(node: string, n: NodeState, type: string): DoubleResource[] {
  const md = (t: string, ns: string, id: string, owner: string, version = 1) => ({
    namespace: ns,
    type: t,
    id,
    version,
    owner,
    phase: "running",
    created: created(n),
    updated: created(n),
  });
  switch (type) {
    case EXT_TYPE:
      return extensionIds(n.boot.current).map(({ ext, id }) => {
        const metadata: Record<string, unknown> = {
          name: ext.name,
          version: ext.version,
          author: ext.author ?? "",
          description: ext.description ?? "",
          compatibility: { talos: { version: ext.compatibility ?? "" } },
        };
        if (ext.extraInfo) metadata.extraInfo = ext.extraInfo;
        return {
          node,
          metadata: md(EXT_TYPE, "runtime", id, "runtime.ExtensionStatusController"),
          spec: { image: `${id}.sqsh`, metadata },
        };
      });
    case "Services.v1alpha1.talos.dev":
      return serviceList(n)
        .filter((s) => s.state === "Running")
        .map((s) => ({
          node,
          metadata: md(type, "runtime", s.id, "v1alpha1.ServiceController", 2),
          spec: { running: true, healthy: s.health === "OK", unknown: s.health === "?" },
        }));
    case "MachineTypes.config.talos.dev":
      return [
        { node, metadata: md(type, "config", "machine-type", "config.MachineTypeController"), spec: n.role },
      ];
    case "Versions.runtime.talos.dev":
      return [
        {
          node,
          metadata: md(type, "runtime", "version", "runtime.VersionController"),
          spec: { version: n.boot.current.version, name: "Talos" },
        },
      ];
    case "MachineStatuses.runtime.talos.dev":
      return [
        {
          node,
          metadata: md(type, "runtime", "machine", "runtime.MachineStatusController", 7),
          spec: { stage: "running", status: { ready: n.healthy !== false, unmetConditions: [] } },
        },
      ];
    case "MetaKeys.runtime.talos.dev":
      // Only the staged-upgrade key is emulated (the one a deploy tool looks at).
      return n.boot.pending?.staged
        ? [
            {
              node,
              metadata: md(type, "runtime", "0x07", "runtime.MetaKeyController"),
              spec: { value: n.boot.pending.image ?? "" },
            },
          ]
        : [];
    default:
      return (n.resources ?? [])
        .filter((r) => r.type === type)
        .map((r) => ({
          node,
          metadata: md(r.type, r.namespace ?? "default", r.id, r.owner ?? ""),
          spec: r.spec,
        }));
  }
}

function resolveType(name: string): { type: string; namespace: string } | undefined {
  const lower = name.toLowerCase();
  for (const t of RESOURCE_TYPES) if (t.type.toLowerCase() === lower || t.aliases.includes(lower)) return t;
  for (const n of Object.values(state.nodes)) {
    for (const r of n.resources ?? []) {
      if (r.type.toLowerCase() === lower || r.aliases?.includes(lower))
        return { type: r.type, namespace: r.namespace ?? "default" };
    }
  }
  return undefined;
}

async function cmdGet(): Promise<void> {
  const [typeName, id] = positional;
  if (!typeName) usageError("accepts between 1 and 2 arg(s), received 0");
  const output = flags.get("output") ?? "table";
  if (output !== "json" && output !== "yaml")
    die(`talosctl double: output ${output} is not emulated (use json or yaml)`, 2);
  const nodes = targetNodes();
  // 1.14: the version check of every node comes before any output.
  if (clientMinor >= 14) for (const node of nodes) await contact(node, "get");
  const t = resolveType(typeName);
  if (!t) die(`resource "${typeName}" is not registered`);
  let first = true;
  let failed = false;
  for (const node of nodes) {
    if (clientMinor < 14) {
      const err = reachError(node);
      if (state.nodes[node]?.faults?.slowMs) await sleep(state.nodes[node]!.faults!.slowMs!);
      if (err) {
        process.stderr.write(nodeError(node, err));
        failed = true;
        continue;
      }
    }
    const n = state.nodes[node]!;
    let list = resourcesOf(node, n, t.type);
    if (flags.has("namespace") && flags.get("namespace") !== t.namespace) list = [];
    if (id !== undefined) {
      list = list.filter((r) => r.metadata.id === id);
      if (list.length === 0) {
        const ns = flags.get("namespace") ?? t.namespace;
        const text = `rpc error: code = NotFound desc = resource ${t.type}(${ns}/${id}@undefined) doesn't exist`;
        process.stderr.write(
          clientMinor >= 14 ? `error getting resource on node ${node}: ${text}\n` : nodeError(node, text),
        );
        failed = true;
        continue;
      }
    }
    let text = "";
    for (const r of list) {
      text += output === "json" ? formatJsonResource(r) : formatYamlResource(r, first);
      first = false;
    }
    if (n.faults?.garbageOutput) text = `<html>502 Bad Gateway</html>\n${text}`;
    if (n.faults?.truncateJson) {
      process.stdout.write(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
      process.exit(0);
    }
    process.stdout.write(text);
  }
  if (failed) process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// version, service, logs, read

function clientBlock(): string {
  if (has("short")) return `Client:\n\tTalos ${clientTag}\n`;
  return `Client:\n\tTag:         ${clientTag}\n\tSHA:         d0ub1e00\n\tBuilt:       \n\tGo version:  go1.26.7\n\tOS/Arch:     linux/amd64\n`;
}

async function cmdVersion(): Promise<void> {
  if (bool("client", false) && !bool("json", false)) {
    process.stdout.write(clientBlock());
    return;
  }
  const nodes = targetNodes();
  if (!bool("json", false)) process.stdout.write(clientBlock());
  const errors: string[] = [];
  let out = bool("json", false) ? "" : "Server:\n";
  for (const node of nodes) {
    const n = state.nodes[node];
    if (n?.faults?.slowMs) await sleep(n.faults.slowMs);
    const err = reachError(node);
    if (err) {
      errors.push(`error getting version from node ${node}: ${err}`);
      continue;
    }
    const tag = n!.boot.current.version;
    if (bool("json", false)) {
      const msg: Record<string, unknown> = {};
      if (clientMinor < 14) msg.metadata = { hostname: node };
      msg.version = { tag, sha: "d0ub1e00", goVersion: "go1.26.7", os: "linux", arch: "amd64" };
      msg.platform = { name: "metal", mode: "metal" };
      msg.features = { rbac: true };
      out += `${JSON.stringify(msg)}\n`;
    } else {
      out += `\tNODE:        ${node}\n\tTag:         ${tag}\n\tSHA:         d0ub1e00\n\tBuilt:       \n\tGo version:  go1.26.7\n\tOS/Arch:     linux/amd64\n\tEnabled:     RBAC\n`;
    }
  }
  if (errors.length < nodes.length) process.stdout.write(out);
  if (errors.length > 0) die(errors.join("\n"));
}

function ago(n: NodeState): string {
  return `${goDurationString(Date.now() - Date.parse(n.bootedAt ?? "2026-08-01T10:00:00Z"))} ago`;
}

async function cmdService(): Promise<void> {
  const [id, action] = positional;
  if (action !== undefined && action !== "status")
    die(`talosctl double: service ${action} is not emulated`, 2);
  const nodes = targetNodes();
  if (id === undefined) {
    const rows: string[][] = [["NODE", "SERVICE", "STATE", "HEALTH", "LAST CHANGE", "LAST EVENT"]];
    for (const node of nodes) {
      const n = await contact(node, "other");
      for (const s of serviceList(n))
        rows.push([node, s.id, s.state!, s.health!, ago(n), s.events!.at(-1)?.message ?? ""]);
    }
    process.stdout.write(tabwrite(rows));
    return;
  }
  const rows: string[][] = [];
  for (const node of nodes) {
    const n = await contact(node, "other");
    const s = serviceList(n).find((x) => x.id === id);
    if (!s) continue;
    rows.push(["NODE", node], ["ID", s.id], ["STATE", s.state!], ["HEALTH", s.health!]);
    if (s.lastHealthMessage) rows.push(["LAST HEALTH MESSAGE", s.lastHealthMessage]);
    const events = [...s.events!].reverse();
    events.forEach((e, i) => {
      rows.push([i === 0 ? "EVENTS" : "", `[${e.state}]: ${e.message} (${ago(n)})`]);
    });
  }
  if (rows.length === 0) die(`service "${id}" is not registered on any nodes`);
  process.stdout.write(tabwrite(rows));
}

async function cmdLogs(): Promise<void> {
  const [id] = positional;
  if (!id) usageError("accepts 1 arg(s), received 0");
  const nodes = targetNodes();
  for (const node of nodes) {
    const n = await contact(node, "other");
    const known = serviceList(n).some((s) => s.id === id) || n.logs?.[id] !== undefined;
    if (!known) die(nodeError(node, `rpc error: code = NotFound desc = log "${id}" was not registered`));
    let lines = n.logs?.[id] ?? [`[talos] service[${id}]: started`];
    const tail = flags.has("tail") ? Number(flags.get("tail")) : -1;
    if (tail >= 0) lines = lines.slice(Math.max(0, lines.length - tail));
    process.stdout.write(lines.map((l) => `${node}: ${l}\n`).join(""));
  }
}

function extensionsYaml(entry: BootEntry): string {
  let out = "layers:\n";
  for (const { ext, id } of extensionIds(entry)) {
    out += `    - image: ${id}.sqsh\n      metadata:\n        name: ${ext.name}\n        version: ${ext.version}\n`;
  }
  return out;
}

async function cmdRead(): Promise<void> {
  const [path] = positional;
  if (!path) usageError("accepts 1 arg(s), received 0");
  const node = single("read");
  const n = await contact(node, "other");
  const content = path === "/etc/extensions.yaml" ? extensionsYaml(n.boot.current) : n.files?.[path];
  if (content === undefined)
    die(nodeError(node, `rpc error: code = NotFound desc = stat ${path}: no such file or directory`));
  process.stdout.write(content);
}

// ---------------------------------------------------------------------------------------------
// etcd, health

function memberId(hostname: string, n: NodeState): string {
  if (n.etcd?.memberId) return n.etcd.memberId;
  let h = 0xcbf29ce484222325n;
  for (const c of Buffer.from(hostname)) h = ((h ^ BigInt(c)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, "0");
}

const controlPlanes = () => Object.entries(state.nodes).filter(([, n]) => n.role !== "worker");

async function cmdEtcd(sub: "members" | "status"): Promise<void> {
  const nodes = targetNodes();
  const rows: string[][] = [];
  for (const node of nodes) {
    const n = await contact(node, "other");
    if (n.role === "worker") {
      die(nodeError(node, "rpc error: code = FailedPrecondition desc = etcd is not running on this node"));
    }
    if (sub === "members") {
      if (rows.length === 0) rows.push(["NODE", "ID", "HOSTNAME", "PEER URLS", "CLIENT URLS", "LEARNER"]);
      for (const [addr, cp] of controlPlanes()) {
        const host = cp.hostname ?? addr;
        rows.push([
          node,
          memberId(host, cp),
          host,
          `https://${addr}:2380`,
          `https://${addr}:2379`,
          String(cp.etcd?.learner ?? false),
        ]);
      }
    } else {
      if (rows.length === 0) {
        rows.push([
          "NODE",
          "MEMBER",
          "DB SIZE",
          "IN USE",
          "LEADER",
          "RAFT INDEX",
          "RAFT TERM",
          "RAFT APPLIED INDEX",
          "LEARNER",
          "ERRORS",
        ]);
      }
      const e = n.etcd ?? {};
      const size = e.dbSize ?? 21_000_000;
      const inUse = e.dbSizeInUse ?? 9_450_000;
      const leaderHost =
        state.etcd?.leader ?? controlPlanes()[0]?.[1].hostname ?? controlPlanes()[0]?.[0] ?? "";
      const leaderEntry = controlPlanes().find(([addr, cp]) => (cp.hostname ?? addr) === leaderHost);
      const leader = leaderEntry ? memberId(leaderHost, leaderEntry[1]) : "0000000000000000";
      const ratio = size > 0 ? (inUse / size) * 100 : 0;
      rows.push([
        node,
        memberId(n.hostname ?? node, n),
        humanBytes(size),
        `${humanBytes(inUse)} (${ratio.toFixed(2)}%)`,
        leader,
        String(e.raftIndex ?? 1200),
        String(e.raftTerm ?? 3),
        String(e.raftAppliedIndex ?? e.raftIndex ?? 1200),
        String(e.learner ?? false),
        (e.errors ?? []).join(", "),
      ]);
    }
  }
  process.stdout.write(tabwrite(rows));
}

async function cmdHealth(): Promise<void> {
  const node = single("health");
  const n = await contact(node, "other");
  if (n.role === "worker") die("cluster health check is only available on control plane nodes");
  const wait = parseGoDuration(flags.get("wait-timeout") ?? "20m0s");
  if (wait === undefined)
    usageError(`invalid argument "${flags.get("wait-timeout")}" for "--wait-timeout" flag`);
  const all = Object.keys(state.nodes);
  process.stderr.write(`discovered nodes: [${all.map((a) => `"${a}"`).join(" ")}]\n`);
  const bad = Object.entries(state.nodes).filter(
    ([, x]) => x.healthy === false || x.down || x.faults?.unreachable,
  );
  process.stderr.write("waiting for etcd to be healthy: ...\n");
  if (bad.length === 0) {
    for (const step of [
      "etcd to be healthy",
      "etcd members to be consistent across nodes",
      "apid to be ready",
      "all nodes to finish boot sequence",
      "kubelet to be healthy",
      "all k8s nodes to report ready",
    ]) {
      process.stderr.write(`waiting for ${step}: OK\n`);
    }
    return;
  }
  // Unhealthy: talosctl blocks until the wait timeout, then fails.
  await sleep(wait);
  process.stderr.write(`waiting for all nodes to finish boot sequence: node ${bad[0]![0]} is not ready\n`);
  die("context deadline exceeded");
}

// ---------------------------------------------------------------------------------------------
// upgrade, reboot, rollback

/** Activates the pending boot entry (if any) as a reboot does; returns whether the node comes back. */
function rebootNode(s: State, node: string): boolean {
  const n = s.nodes[node]!;
  if (n.boot.pending) {
    const drop = new Set(n.faults?.dropExtensions ?? []);
    n.boot.previous = n.boot.current;
    const { staged: _staged, ...entry } = n.boot.pending;
    n.boot.current = { ...entry, extensions: entry.extensions.filter((e) => !drop.has(e.name)) };
    n.boot.pending = null;
  }
  n.bootId = (n.bootId ?? 1) + 1;
  n.bootedAt = new Date().toISOString();
  if (n.faults?.neverBack) n.down = true;
  return !n.faults?.neverBack;
}

async function track(node: string, back: boolean): Promise<void> {
  const timeout = parseGoDuration(flags.get("timeout") ?? "30m0s");
  if (timeout === undefined) usageError(`invalid argument "${flags.get("timeout")}" for "--timeout" flag`);
  process.stderr.write(`${node}: waiting for reboot\n`);
  if (!back) {
    await sleep(timeout);
    die(`${node}: failed to wait for reboot: context deadline exceeded`);
  }
  process.stderr.write(`${node}: post check passed\n`);
}

async function cmdUpgrade(): Promise<void> {
  const nodes = targetNodes();
  const image =
    flags.get("image") ??
    (clientMinor >= 14
      ? `factory.talos.dev/metal-installer/376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba:${clientTag}`
      : `ghcr.io/siderolabs/installer:${clientTag}`);
  for (const node of nodes) {
    const sn = state.nodes[node];
    if (sn?.faults?.slowMs) await sleep(sn.faults.slowMs);
    const reach = reachError(node);
    if (reach)
      die(
        clientMinor >= 13
          ? `error checking Talos version compatibility: ${nodeError(node, reach)}`
          : nodeError(node, reach),
      );
  }
  if (nodes.length !== 1)
    die("talosctl double: several nodes in one upgrade are not emulated (and should not be used)", 2);
  const node = nodes[0]!;
  const n = state.nodes[node]!;
  const server = parseVersion(n.boot.current.version);
  const serverLifecycle =
    server[0] === 1 &&
    (server[1] > 13 || (server[1] === 13 && (server[2] > 0 || server[3] === "" || server[3] > "alpha.2")));
  const lifecycle = clientMinor >= 13 && serverLifecycle && !bool("legacy", false);
  const mode = (flags.get("reboot-mode") ?? "default").toLowerCase();
  const modes = lifecycle ? ["default", "force", "powercycle"] : ["default", "powercycle"];
  if (!modes.includes(mode)) die(`invalid reboot mode: "${flags.get("reboot-mode")}"`);
  if (n.faults?.busy)
    die(
      nodeError(
        node,
        "rpc error: code = FailedPrecondition desc = another installation/upgrade is already in progress",
      ),
    );
  const target = state.images?.[image] ?? (await pullInstaller(image));

  if (lifecycle) {
    for (const legacyOnly of ["stage", "force", "preserve"]) {
      if (bool(legacyOnly, false)) {
        process.stderr.write(`WARNING: --${legacyOnly} is deprecated and ignored unless --legacy is given\n`);
      }
    }
    process.stderr.write(`${node}: pulling installer image ${image}\n`);
    if (!target) {
      die(
        `node ${node}: failed to pull image "${image}": rpc error: code = NotFound desc = failed to resolve reference "${image}": not found`,
      );
    }
    const fail = n.faults?.upgradeFails;
    for (const line of fail?.output ?? ["installing", "validating installer", "writing boot assets"])
      process.stderr.write(`${node}: ${line}\n`);
    if (fail) die(`node ${node}: upgrade failed with exit code ${fail.exitCode ?? 1}`);
    await update((s) => {
      s.nodes[node]!.boot.pending = { ...target, image };
    });
    process.stderr.write(`${node}: upgrade completed\n`);
    if (clientMinor >= 14 && bool("no-reboot", false)) return;
    const drain = bool("drain", true);
    if (drain) {
      process.stderr.write(`${node}: cordoning and draining node\n`);
      if (n.faults?.drainFails) {
        const why =
          typeof n.faults.drainFails === "string"
            ? n.faults.drainFails
            : "Cannot evict pod as it would violate the pod's disruption budget.";
        die(`${node}: error draining node: ${why}`);
      }
    }
    let back = true;
    await update((s) => {
      back = rebootNode(s, node);
    });
    process.stderr.write(`${node}: rebooting\n`);
    if (drain || bool("wait", true) || bool("debug", false)) await track(node, back);
    if (drain) process.stderr.write(`${node}: uncordoning node\n`);
    return;
  }

  // Legacy MachineService.Upgrade.
  if (!target) {
    die(
      nodeError(
        node,
        `rpc error: code = Unknown desc = error validating installer image "${image}": failed to resolve reference "${image}": not found`,
      ),
    );
  }
  const fail = n.faults?.upgradeFails;
  if (fail) {
    for (const line of fail.output ?? []) process.stderr.write(`${node}: ${line}\n`);
    die(
      nodeError(
        node,
        `rpc error: code = Unknown desc = installer failed: upgrade failed with exit code ${fail.exitCode ?? 1}`,
      ),
    );
  }
  const stage = bool("stage", false);
  let back = true;
  await update((s) => {
    s.nodes[node]!.boot.pending = { ...target, image, ...(stage ? { staged: true } : {}) };
    if (!stage) back = rebootNode(s, node);
  });
  if (!bool("wait", true)) {
    process.stdout.write(
      tabwrite([
        ["NODE", "ACK", "STARTED"],
        [node, "Upgrade request received", new Date().toISOString()],
      ]),
    );
    return;
  }
  if (stage) {
    process.stderr.write(`${node}: upgrade staged for next boot\n`);
    return;
  }
  await track(node, back);
}

async function cmdReboot(): Promise<void> {
  const node = single("reboot");
  await contact(node, "other");
  const mode = flags.get("mode") ?? "default";
  if (!["default", "powercycle"].includes(mode)) die(`invalid reboot mode: "${mode}"`);
  let back = true;
  await update((s) => {
    back = rebootNode(s, node);
  });
  if (bool("wait", true) || bool("debug", false)) await track(node, back);
}

async function cmdRollback(): Promise<void> {
  const node = single("rollback");
  const n = await contact(node, "other");
  // An armed node's default boot entry is the installed, never-booted one: reverting the
  // bootloader returns to the running entry, so the node reboots into what it runs now.
  const armed = Boolean(n.boot.pending);
  if (!armed && !n.boot.previous)
    die(`error executing rollback on node ${node}: rpc error: code = Unknown desc = previous UKI not found`);
  await update((s) => {
    const x = s.nodes[node]!;
    if (x.boot.pending) {
      x.boot.pending = null;
    } else {
      const prev = x.boot.previous!;
      x.boot.previous = x.boot.current;
      x.boot.current = prev;
    }
    x.bootId = (x.bootId ?? 1) + 1;
    x.bootedAt = new Date().toISOString();
    if (x.faults?.neverBack) x.down = true;
  });
}

// ---------------------------------------------------------------------------------------------

const handlers: Record<string, () => Promise<void>> = {
  version: cmdVersion,
  get: cmdGet,
  upgrade: cmdUpgrade,
  reboot: cmdReboot,
  rollback: cmdRollback,
  health: cmdHealth,
  service: cmdService,
  services: cmdService,
  logs: cmdLogs,
  read: cmdRead,
  "etcd members": () => cmdEtcd("members"),
  "etcd status": () => cmdEtcd("status"),
};

await handlers[command]!();
