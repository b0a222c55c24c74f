/** Test support: a throw-away Nx workspace holding a copy of extensions/, with this plugin from source. */
import { execFile } from "node:child_process";
import { cp, mkdtemp, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const REPO = fileURLToPath(new URL("../../..", import.meta.url));
export const PLUGIN = join(REPO, "packages/nx/src/index.ts");
export const CLI_BIN = join(REPO, "packages/cli/dist/bin.js");
export const GENERATORS = join(REPO, "packages/nx/generators.json");
const NX = join(REPO, "node_modules/nx/dist/bin/nx.js");
// Under `nx run` (pnpm test) colours are forced on; assertions read plain text.
const ANSI = /\u001b\[[0-9;]*m/g;
const plain = (s: string | undefined) => (s ?? "").replace(ANSI, "");

export interface Workspace {
  dir: string;
  /** Runs `nx <args>` there (asynchronously: in-process servers keep answering). */
  nx(args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Rewrites nx.json with these plugin options (cli is always set). */
  configure(options: Record<string, unknown>): Promise<void>;
  /** git add + commit everything. */
  commit(message: string): Promise<void>;
}

export async function makeWorkspace(parent: string = tmpdir()): Promise<Workspace> {
  const dir = await mkdtemp(join(parent, "talos-ext-nx-ws-"));
  await cp(join(REPO, "extensions"), join(dir, "extensions"), { recursive: true });
  await symlink(join(REPO, "node_modules"), join(dir, "node_modules"));
  await writeFile(join(dir, ".gitignore"), "node_modules\n.nx\ndist\n");
  const ws: Workspace = {
    dir,
    async nx(args, env = {}) {
      try {
        const r = await run(process.execPath, [NX, ...args], {
          cwd: dir,
          env: {
            ...process.env,
            NX_DAEMON: "false",
            NX_NO_CLOUD: "true",
            NX_TUI: "false",
            FORCE_COLOR: "0",
            NO_COLOR: "1",
            ...env,
          },
          maxBuffer: 64 << 20,
        });
        return { code: 0, stdout: plain(r.stdout), stderr: plain(r.stderr) };
      } catch (e) {
        const err = e as { code?: number; stdout?: string; stderr?: string };
        return {
          code: typeof err.code === "number" ? err.code : 1,
          stdout: err.stdout ?? "",
          stderr: err.stderr ?? "",
        };
      }
    },
    async configure(options) {
      const nxJson = {
        cacheDirectory: ".nx/cache",
        analytics: false,
        useDaemonProcess: false,
        plugins: [{ plugin: PLUGIN, options: { cli: `node ${CLI_BIN}`, ...options } }],
      };
      await writeFile(join(dir, "nx.json"), `${JSON.stringify(nxJson, null, 2)}\n`);
    },
    async commit(message) {
      const git = (...a: string[]) =>
        run("git", ["-c", "user.email=t@example.invalid", "-c", "user.name=t", ...a], { cwd: dir });
      await git("add", "-A");
      await git("commit", "-q", "--allow-empty", "-m", message);
    },
  };
  await ws.configure({});
  await run("git", ["init", "-q", "-b", "main"], { cwd: dir });
  await ws.commit("initial");
  return ws;
}
