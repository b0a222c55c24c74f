/**
 * Reads BuildKit's plain progress (`docker build --progress=plain`, `buildctl --progress plain`)
 * and keeps what is needed to explain a failure: which vertex ran which of our steps, and the
 * last lines each vertex printed.
 */
import { STEP_MARKER } from "../plan/plan.ts";

export interface VertexState {
  id: string;
  name: string;
  /** Our `<package>:<phase>-<step>` label, when the vertex is one of our script RUNs. */
  label?: string;
  output: string[];
  error?: string;
  done: boolean;
}

const MARKER = new RegExp(`${STEP_MARKER.trim().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*([^\\s"\\\\]+)`);
const KEEP_LINES = 40;

export class ProgressLog {
  readonly vertices = new Map<string, VertexState>();
  /** Lines that belong to no vertex (engine errors such as "failed to solve"). */
  readonly other: string[] = [];
  /** The exit code a failed RUN reported ("exit code: 3"), wherever the engine printed it. */
  exitCode: number | undefined;

  /** Feeds one line; returns a short human-readable event for progress display, if any. */
  push(line: string): string | undefined {
    const code = /exit code: (\d+)/.exec(line);
    if (code) this.exitCode = Number(code[1]);
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) {
      if (line.trim()) this.other.push(line);
      if (this.other.length > KEEP_LINES) this.other.shift();
      return undefined;
    }
    const [, id, rest] = m as unknown as [string, string, string];
    let v = this.vertices.get(id);
    if (!v) {
      const label = MARKER.exec(rest)?.[1];
      v = { id, name: rest, output: [], done: false, ...(label ? { label } : {}) };
      this.vertices.set(id, v);
      return label ? `${label}` : rest.startsWith("[") ? rest.replace(/\\n.*$/, "") : undefined;
    }
    if (rest.startsWith("DONE") || rest.startsWith("CACHED")) {
      v.done = true;
      return undefined;
    }
    if (rest.startsWith("ERROR")) {
      v.error = rest.replace(/^ERROR:?\s*/, "");
      return undefined;
    }
    // `#5 0.512 some output`: the timestamp prefixes lines a RUN printed.
    const out = /^\d+\.\d+ (.*)$/.exec(rest);
    if (out) {
      v.output.push(out[1]!);
      if (v.output.length > KEEP_LINES) v.output.shift();
    }
    return undefined;
  }

  /** The vertex that failed, preferring one of our labelled steps. */
  failed(): VertexState | undefined {
    const failed = [...this.vertices.values()].filter((v) => v.error !== undefined);
    return failed.find((v) => v.label) ?? failed[0];
  }
}
