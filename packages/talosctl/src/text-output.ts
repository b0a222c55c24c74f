/**
 * Parsers for talosctl's text outputs: the `version` blocks, tab-aligned tables (`service`,
 * `etcd members`, `etcd status`), the `service <id>` key/value block and `logs` lines. Tables are
 * cut at the header's column offsets (tabwriter aligns every row to them), so a cell with spaces
 * in it, such as `21 MB (45.00%)`, stays one cell. All of them are linear in their input.
 */

/** The server block of `talosctl version` for one node. */
export interface ServerVersion {
  /** The node as passed (`NODE:` line; absent in some versions, then the node we asked). */
  node: string;
  /** e.g. `v1.14.0`. */
  tag: string;
  /** Git commit of the node's Talos (`SHA:`), empty when absent. */
  sha: string;
  /** Build time of the node's Talos as printed (`Built:`), empty when absent. */
  built: string;
  /** Go toolchain version the node's Talos was built with (`Go version:`). */
  goVersion: string;
  /** e.g. `linux/amd64`. */
  osArch: string;
  /** e.g. `RBAC` (the `Enabled:` line), empty when absent. */
  enabled: string;
}

function blockFields(block: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    const m = /^\s+([A-Za-z/ ]+):[ \t]*(.*)$/.exec(line);
    if (m && !fields.has(m[1]!.trim())) fields.set(m[1]!.trim(), m[2]!.trim());
  }
  return fields;
}

/** The `Server:` block of `talosctl version` output; undefined when there is none. */
export function parseServerVersion(stdout: string, node: string): ServerVersion | undefined {
  const at = stdout.search(/^Server:\s*$/m);
  if (at === -1) return undefined;
  const fields = blockFields(stdout.slice(at).replace(/^Server:\s*\n/, ""));
  const tag = fields.get("Tag");
  if (!tag) return undefined;
  return {
    node: fields.get("NODE") ?? node,
    tag,
    sha: fields.get("SHA") ?? "",
    built: fields.get("Built") ?? "",
    goVersion: fields.get("Go version") ?? "",
    osArch: fields.get("OS/Arch") ?? "",
    enabled: fields.get("Enabled") ?? "",
  };
}

/** A table as header names and rows of cells (keyed by header name). */
export interface ParsedTable {
  /** Header names in order, as printed (may hold single spaces, e.g. `LAST CHANGE`). */
  columns: string[];
  /** One record per line after the header, keyed by column name; cells are trimmed. */
  rows: Record<string, string>[];
}

/**
 * Parses a tabwriter table whose first line is the header. Column names are separated by two or
 * more spaces (tabwriter pads with at least three); names may hold single spaces (`LAST CHANGE`).
 */
export function parseTable(text: string): ParsedTable {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = lines[0];
  if (header === undefined) return { columns: [], rows: [] };
  const columns: string[] = [];
  const starts: number[] = [];
  const re = /\S+(?: \S+)*/g;
  for (let m = re.exec(header); m; m = re.exec(header)) {
    columns.push(m[0]);
    starts.push(m.index);
  }
  const rows = lines.slice(1).map((line) => {
    const row: Record<string, string> = {};
    for (let i = 0; i < columns.length; i++) {
      const end = i + 1 < starts.length ? starts[i + 1] : undefined;
      row[columns[i]!] = line.slice(starts[i], end).trim();
    }
    return row;
  });
  return { columns, rows };
}

/** One line of `talosctl service` (all services of a node). */
export interface ServiceSummary {
  /** The node the row is for (the `NODE` column). */
  node: string;
  /** e.g. `ext-multipathd`, `etcd`. */
  id: string;
  /** `Initialized`, `Starting`, `Preparing`, `Waiting`, `Running`, `Stopping`, `Finished`, `Failed`, `Skipped`. */
  state: string;
  /** `OK`, `Fail`, or `?` (unknown: the normal value for `ext-*` services without a health check). */
  health: string;
  /** As printed, e.g. `1m2s ago`. */
  lastChange: string;
  /** The latest event's message, e.g. `Health check successful`. */
  lastEvent: string;
}

/** Parses `talosctl service` output. */
export function parseServiceTable(stdout: string): ServiceSummary[] {
  return parseTable(stdout).rows.map((r) => ({
    node: r.NODE ?? "",
    id: r.SERVICE ?? "",
    state: r.STATE ?? "",
    health: r.HEALTH ?? "",
    lastChange: r["LAST CHANGE"] ?? "",
    lastEvent: r["LAST EVENT"] ?? "",
  }));
}

/** One event of a service, newest first as talosctl prints them. */
export interface ServiceEvent {
  /** The state the service entered with the event (e.g. `Running`). */
  state: string;
  /** The event's text, e.g. `Health check successful`. */
  message: string;
  /** As printed, e.g. `30m28s` (the `ago` dropped). */
  ago: string;
}

/** `talosctl service <id>` for one node. */
export interface ServiceStatus {
  /** The node the status was asked of. */
  node: string;
  /** The service id, e.g. `ext-multipathd`. */
  id: string;
  /** The service's current state, e.g. `Running` or `Failed`. */
  state: string;
  /** `OK`, `Fail`, or `?` when the service has no health check. */
  health: string;
  /** The `LAST HEALTH MESSAGE` line, when there is one. */
  lastHealthMessage?: string;
  /** The service's events, newest first as printed. */
  events: ServiceEvent[];
}

/** Parses the key/value block of `talosctl service <id>`; undefined when it has no `ID` line. */
export function parseServiceStatus(stdout: string): ServiceStatus | undefined {
  const fields = new Map<string, string>();
  const events: ServiceEvent[] = [];
  let inEvents = false;
  const event = (text: string) => {
    const m = /^\[([^\]]*)\]: (.*?)(?: \(([^()]*) ago\))?$/.exec(text);
    if (m) events.push({ state: m[1]!, message: m[2]!, ago: m[3] ?? "" });
  };
  for (const line of stdout.split(/\r?\n/)) {
    if (line.trim() === "") continue;
    const kv = /^(\S+(?: \S+)*)\s{2,}(.*)$/.exec(line);
    if (kv && !/^\s/.test(line)) {
      const key = kv[1]!;
      inEvents = key === "EVENTS";
      if (inEvents) event(kv[2]!.trim());
      else if (!fields.has(key)) fields.set(key, kv[2]!.trim());
    } else if (inEvents) event(line.trim());
  }
  const id = fields.get("ID");
  if (id === undefined) return undefined;
  const out: ServiceStatus = {
    node: fields.get("NODE") ?? "",
    id,
    state: fields.get("STATE") ?? "",
    health: fields.get("HEALTH") ?? "",
    events,
  };
  const last = fields.get("LAST HEALTH MESSAGE");
  if (last !== undefined) out.lastHealthMessage = last;
  return out;
}

/** A member of the etcd cluster as one control plane sees it. */
export interface EtcdMember {
  /** 16-hex-digit member id as printed. */
  id: string;
  /** The member's name, normally the node's hostname. */
  hostname: string;
  /** URLs clients reach this member at (the `CLIENT URLS` column, split on commas). */
  peerUrls: string[];
  /** URLs other members reach this one at (the `PEER URLS` column, split on commas). */
  clientUrls: string[];
  /** Absent when this talosctl does not print the LEARNER column. */
  learner?: boolean;
}

const urls = (cell: string | undefined) => (cell ? cell.split(",").filter(Boolean) : []);

/** Parses `talosctl etcd members`. */
export function parseEtcdMembers(stdout: string): EtcdMember[] {
  return parseTable(stdout).rows.map((r) => {
    const m: EtcdMember = {
      id: r.ID ?? "",
      hostname: r.HOSTNAME ?? "",
      peerUrls: urls(r["PEER URLS"]),
      clientUrls: urls(r["CLIENT URLS"]),
    };
    if (r.LEARNER !== undefined) m.learner = r.LEARNER === "true";
    return m;
  });
}

/** `talosctl etcd status` for one control-plane node. */
export interface EtcdMemberStatus {
  /** The node the status was asked of (the `NODE` column). */
  node: string;
  /** This node's member id (16 hex digits). */
  memberId: string;
  /** As printed (SI units, e.g. `21 MB`). */
  dbSize: string;
  /** As printed, without the percentage. */
  dbSizeInUse: string;
  /** The percentage printed after the in-use size. */
  inUsePercent: number;
  /** The leader's member id. */
  leader: string;
  /** This member's Raft log index. */
  raftIndex: number;
  /** The Raft term this member sees; members of a healthy cluster agree on it. */
  raftTerm: number;
  /** Raft index applied to this member's store; behind `raftIndex` while it catches up. */
  raftAppliedIndex: number;
  /** True while the member is a learner (not yet voting). */
  learner: boolean;
  /** Errors etcd reports, empty when healthy. */
  errors: string[];
}

/** Parses `talosctl etcd status` (its first row: one node per call). */
export function parseEtcdStatus(stdout: string): EtcdMemberStatus | undefined {
  const r = parseTable(stdout).rows[0];
  if (!r) return undefined;
  const inUse = /^(.*?)\s*\(([\d.]+)%\)$/.exec(r["IN USE"] ?? "");
  const errors = r.ERRORS ?? "";
  return {
    node: r.NODE ?? "",
    memberId: r.MEMBER ?? "",
    dbSize: r["DB SIZE"] ?? "",
    dbSizeInUse: inUse ? inUse[1]! : (r["IN USE"] ?? ""),
    inUsePercent: inUse ? Number(inUse[2]) : 0,
    leader: r.LEADER ?? "",
    raftIndex: Number(r["RAFT INDEX"] ?? 0),
    raftTerm: Number(r["RAFT TERM"] ?? 0),
    raftAppliedIndex: Number(r["RAFT APPLIED INDEX"] ?? 0),
    learner: r.LEARNER === "true",
    errors: errors ? errors.split(", ") : [],
  };
}

/** `talosctl logs` lines with the `<node>: ` prefix removed (talosctl prefixes every line). */
export function stripNodePrefix(lines: string[], node: string): string[] {
  const prefix = `${node}: `;
  return lines.map((l) => (l.startsWith(prefix) ? l.slice(prefix.length) : l));
}
