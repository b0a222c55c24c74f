import { createInterface } from "node:readline/promises";

/** Where a command reads and writes. Tests pass their own; the binary passes the process's. */
export interface CliIo {
  /** Writes `text` to standard output as is (the caller ends its lines): results, `--json` documents. */
  stdout: (text: string) => void;
  /** Writes `text` to standard error as is: diagnostics, progress and prompts. */
  stderr: (text: string) => void;
  /** The directory relative paths in arguments are resolved against. */
  cwd: string;
  /** The environment commands read (TALOS_EXT_*, DOCKER_CONFIG, …) and hand to the tools they run. */
  env: Record<string, string | undefined>;
  /** True when stderr is a terminal (progress may redraw lines). */
  interactive: boolean;
  /** True when stdin is a terminal: a command may ask a question (`deploy apply` without --yes). */
  stdinInteractive?: boolean;
  /** Asks a question on the terminal and resolves with the answer line. */
  prompt?: (question: string) => Promise<string>;
}

/**
 * The real process as a {@link CliIo}: its streams, working directory and environment, with
 * interactivity taken from whether stderr and stdin are terminals, and prompts read from stdin.
 */
export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    cwd: process.cwd(),
    env: process.env,
    interactive: Boolean(process.stderr.isTTY),
    stdinInteractive: Boolean(process.stdin.isTTY),
    prompt: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
  };
}
