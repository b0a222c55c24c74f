/**
 * A task list for long multi-step commands: one line when a task starts and one when it ends,
 * with its time, on stderr. Plain lines only (no redraw, no color), so CI logs and pipes read the
 * same as a terminal; `--json` prints nothing here and gets the records instead.
 */
import type { CommandContext } from "./command.ts";

/** One finished (or failed) task. */
export interface TaskRecord {
  title: string;
  ok: boolean;
  durationMs: number;
  detail?: string;
}

/** What a task's body returns: its value, and a short detail for the done line. */
export interface TaskResult<T> {
  value: T;
  detail?: string;
}

export interface TaskList {
  /** Runs one task, timing it; a failure is recorded and rethrown. */
  run<T>(title: string, body: () => Promise<TaskResult<T>>): Promise<T>;
  /** A line of information between tasks (what a dry run would do). */
  note(text: string): void;
  /** The closing line: how many tasks, how long. */
  summary(): void;
  readonly records: TaskRecord[];
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export function taskList(ctx: CommandContext): TaskList {
  const records: TaskRecord[] = [];
  const started = Date.now();
  const line = (text: string) => {
    if (!ctx.json) ctx.io.stderr(`${text}\n`);
  };
  return {
    records,
    async run(title, body) {
      const t0 = Date.now();
      line(`[..] ${title}`);
      try {
        const r = await body();
        const rec: TaskRecord = { title, ok: true, durationMs: Date.now() - t0 };
        if (r.detail) rec.detail = r.detail;
        records.push(rec);
        line(`[ok] ${title} (${seconds(rec.durationMs)})${r.detail ? `: ${r.detail}` : ""}`);
        return r.value;
      } catch (e) {
        records.push({ title, ok: false, durationMs: Date.now() - t0 });
        line(`[!!] ${title} failed (${seconds(Date.now() - t0)})`);
        throw e;
      }
    },
    note(text) {
      line(`[--] ${text}`);
    },
    summary() {
      line(`${records.length} task(s) in ${seconds(Date.now() - started)}`);
    },
  };
}
