/** Shell completion and the generated command reference, both made from the command definitions. */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { COMMANDS } from "../src/cli.ts";
import { commandReference } from "../src/reference.ts";
import { talosExt } from "./run.ts";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "talos-ext-completion-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** What real bash completes for the words typed so far. */
function complete(script: string, words: string[]): string[] {
  const out = execFileSync(
    "bash",
    [
      "-c",
      `source "$0"; COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _talos_ext; printf '%s\\n' "\${COMPREPLY[@]}"`,
      script,
    ],
    { encoding: "utf8", cwd: tmp },
  );
  return out.split("\n").filter(Boolean).sort();
}

test("bash completes commands and each command's options", async () => {
  const r = talosExt(["completion", "bash"]);
  expect(r.code).toBe(0);
  const script = join(tmp, "talos-ext.bash");
  await writeFile(script, r.stdout);
  execFileSync("bash", ["-n", script]);
  expect(complete(script, ["talos-ext", "bu"])).toEqual(["build"]);
  expect(complete(script, ["talos-ext", "do"])).toEqual(["doctor"]);
  expect(complete(script, ["talos-ext", "build", "--pl"])).toEqual(["--plan", "--platform"]);
  expect(complete(script, ["talos-ext", "doctor", "--"])).toEqual(["--config", "--help", "--json"]);
  // Every command is offered.
  expect(complete(script, ["talos-ext", ""])).toEqual([...COMMANDS.map((c) => c.name), "help"].sort());
});

test("zsh reuses the bash function; fish gets one line per command and option", () => {
  const zsh = talosExt(["completion", "zsh"]);
  expect(zsh.stdout.split("\n")[0]).toBe("#compdef talos-ext");
  expect(zsh.stdout).toContain("bashcompinit");
  expect(zsh.stdout).toContain("complete -o default -F _talos_ext talos-ext");
  const fish = talosExt(["completion", "fish"]).stdout;
  for (const c of COMMANDS) expect(fish).toContain(`-n __fish_use_subcommand -a ${c.name} `);
  expect(fish).toContain("-n '__fish_seen_subcommand_from build' -l platform -r -F");
  const bad = talosExt(["completion", "tcsh", "--json"]);
  expect(bad.code).toBe(2);
  expect(bad.json().diagnostics[0].code).toBe("CLI_USAGE");
});

test("docs/cli.md is the reference generated from the command definitions", async () => {
  const committed = await readFile(new URL("../../../docs/cli.md", import.meta.url), "utf8");
  expect(committed).toBe(commandReference(COMMANDS));
  for (const c of COMMANDS) expect(committed).toContain(`## talos-ext ${c.name}\n`);
});
