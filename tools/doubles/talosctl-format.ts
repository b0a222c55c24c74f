/**
 * Output formats of talosctl, as the cluster double prints them (and the benchmark generates
 * them): `get -o json` (4-space indented, keys sorted at every level, `<`, `>`, `&` escaped as
 * Go's encoder does, one object after another), `get -o yaml` (fixed metadata key order, 4-space
 * indent, `---` between resources), tabwriter tables (padding 3) and humanize's SI byte sizes.
 * See /work/shared/reference/talos-extensions.md §5-§6 for the formats.
 */

/** A resource as the double holds it; `spec` keys are in the Go struct's order (YAML keeps it). */
export interface DoubleResource {
  node: string;
  metadata: {
    namespace: string;
    type: string;
    id: string;
    version: number;
    owner: string;
    phase: string;
    created: string;
    updated: string;
    labels?: Record<string, string>;
  };
  spec: unknown;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
    return out;
  }
  return value;
}

// The metadata goes through untyped YAML before JSON encoding: numeric-looking ids become
// numbers, an empty owner becomes null.
function jsonMetadata(md: DoubleResource["metadata"]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...md };
  out.id = /^-?(?:0|[1-9]\d*)$/.test(md.id) && md.id.length < 16 ? Number(md.id) : md.id;
  out.owner = md.owner === "" ? null : md.owner;
  if (!md.labels || Object.keys(md.labels).length === 0) delete out.labels;
  return out;
}

/** One resource as `talosctl get -o json` prints it (with the trailing newline). */
export function formatJsonResource(r: DoubleResource): string {
  const obj = sortKeys({ metadata: jsonMetadata(r.metadata), node: r.node, spec: r.spec });
  return `${JSON.stringify(obj, null, 4)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029")}\n`;
}

const YAML_SPECIAL_START = /^[-?:,[\]{}#&*!|>'"%@`\s]/;
const YAML_AMBIGUOUS =
  /^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE|y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)|\d{4}-\d\d?-\d\d?(?:[Tt ].*)?)$/;

function yamlScalar(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  const s = String(value);
  if (s === "") return '""';
  // Control characters force double quotes.
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(s)) return JSON.stringify(s);
  if (YAML_SPECIAL_START.test(s) || YAML_AMBIGUOUS.test(s) || /: |\s#|:$|\s$/.test(s)) {
    return `'${s.replace(/'/g, "''")}'`;
  }
  return s;
}

/** A literal block scalar (`|`, `|-`, `|+`) after `head` (`key:` or `-`), its lines 4 deeper. */
function yamlBlock(head: string, s: string, indent: string): string {
  const chomp = s.endsWith("\n") ? (s.endsWith("\n\n") ? "+" : "") : "-";
  const body = s.endsWith("\n") ? s.slice(0, -1) : s;
  const lines = body.split("\n").map((l) => (l === "" ? "" : `${indent}    ${l}`));
  return `${head} |${chomp}\n${lines.join("\n")}\n`;
}

/** Whether a string can go in a literal block (no leading space on the first line, printable). */
function blockable(s: string): boolean {
  return (
    s.includes("\n") &&
    !/^[ \t]/.test(s) &&
    !/[ \t]\n|[ \t]$/.test(s) &&
    !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(s)
  );
}

function yamlValue(key: string, value: unknown, indent: string): string {
  if (typeof value === "string" && blockable(value)) return yamlBlock(`${indent}${key}:`, value, indent);
  if (Array.isArray(value)) {
    if (value.length === 0) return `${indent}${key}: []\n`;
    let out = `${indent}${key}:\n`;
    for (const item of value) {
      if (item !== null && typeof item === "object" && !Array.isArray(item)) {
        const inner = yamlMap(item as Record<string, unknown>, `${indent}      `);
        out += `${indent}    - ${inner.slice(indent.length + 6)}`;
      } else if (typeof item === "string" && blockable(item))
        out += yamlBlock(`${indent}    -`, item, `${indent}    `);
      else out += `${indent}    - ${yamlScalar(item)}\n`;
    }
    return out;
  }
  if (value !== null && typeof value === "object") {
    if (Object.keys(value).length === 0) return `${indent}${key}: {}\n`;
    return `${indent}${key}:\n${yamlMap(value as Record<string, unknown>, `${indent}    `)}`;
  }
  return `${indent}${key}: ${yamlScalar(value)}\n`;
}

function yamlMap(map: Record<string, unknown>, indent: string): string {
  let out = "";
  for (const [k, v] of Object.entries(map)) if (v !== undefined) out += yamlValue(k, v, indent);
  return out;
}

/** One resource as `talosctl get -o yaml` prints it; `first` is false for every resource after the first. */
export function formatYamlResource(r: DoubleResource, first: boolean): string {
  const md = r.metadata;
  let out = first ? "" : "---\n";
  out += `node: ${yamlScalar(r.node)}\n`;
  out += "metadata:\n";
  out += `    namespace: ${yamlScalar(md.namespace)}\n`;
  out += `    type: ${yamlScalar(md.type)}\n`;
  out += `    id: ${/^\d+$/.test(md.id) ? md.id : yamlScalar(md.id)}\n`;
  out += `    version: ${md.version}\n`;
  out += md.owner === "" ? "    owner:\n" : `    owner: ${yamlScalar(md.owner)}\n`;
  out += `    phase: ${md.phase}\n`;
  out += `    created: ${md.created}\n`;
  out += `    updated: ${md.updated}\n`;
  if (md.labels && Object.keys(md.labels).length > 0) out += yamlValue("labels", md.labels, "    ");
  if (typeof r.spec === "object" && r.spec !== null && !Array.isArray(r.spec)) {
    out +=
      Object.keys(r.spec).length === 0
        ? "spec: {}\n"
        : `spec:\n${yamlMap(r.spec as Record<string, unknown>, "    ")}`;
  } else out += yamlValue("spec", r.spec, "");
  return out;
}

/** Go's text/tabwriter with minwidth 0, tabwidth 0, padding 3, pad char ' ' (what talosctl uses). */
export function tabwrite(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i < row.length - 1) widths[i] = Math.max(widths[i] ?? 0, cell.length + 3);
    });
  }
  return rows
    .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]!) : cell)).join(""))
    .map((l) => `${l}\n`)
    .join("");
}

/** go-humanize `Bytes` (SI): `9 B`, `21 MB`, `2.1 GB`. */
export function humanBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  return val < 10 ? `${val.toFixed(1)} ${sizes[e]}` : `${val.toFixed(0)} ${sizes[e]}`;
}

/** A Go `time.Duration` string rounded to seconds, e.g. `1m2s`, `3h0m5s`, `0s`. */
export function goDurationString(ms: number): string {
  let s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** Parses a Go duration (`30m0s`, `1500ms`, `5m`, `1h2m3.5s`) into ms; undefined when invalid. */
export function parseGoDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  const unit: Record<string, number> = {
    ns: 1e-6,
    us: 1e-3,
    µs: 1e-3,
    ms: 1,
    s: 1000,
    m: 60_000,
    h: 3_600_000,
  };
  if (text === "0") return 0;
  let total = 0;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * unit[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === 0 ? undefined : total;
}
