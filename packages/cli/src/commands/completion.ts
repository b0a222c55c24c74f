import { COMMON_OPTIONS, type Command, usageError } from "../command.ts";

/** What a completion script needs of a command. */
interface Completable {
  name: string;
  summary: string;
  options: Record<string, { description: string; type: string }>;
}

const shellWord = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, "");
const fishText = (s: string) => s.replace(/\\/g, "\\\\").replace(/'/g, "\\'");

function optionsOf(c: Completable): [string, { description: string; type: string }][] {
  return Object.entries({ ...c.options, ...COMMON_OPTIONS });
}

function bash(commands: Completable[]): string {
  const cases = commands.map(
    (c) =>
      `    ${shellWord(c.name)}) opts="${optionsOf(c)
        .map(([o]) => `--${shellWord(o)}`)
        .join(" ")}" ;;`,
  );
  return [
    "# talos-ext completion for bash: source <(talos-ext completion bash)",
    "_talos_ext() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" opts=""',
    '  if [ "$COMP_CWORD" -eq 1 ]; then',
    `    COMPREPLY=($(compgen -W "${commands.map((c) => shellWord(c.name)).join(" ")} help" -- "$cur"))`,
    "    return",
    "  fi",
    '  case "${COMP_WORDS[1]}" in',
    ...cases,
    "  esac",
    '  if [[ "$cur" == -* ]]; then',
    '    COMPREPLY=($(compgen -W "$opts" -- "$cur"))',
    "  else",
    '    COMPREPLY=($(compgen -f -- "$cur"))',
    "  fi",
    "}",
    "complete -o default -F _talos_ext talos-ext",
    "",
  ].join("\n");
}

function zsh(commands: Completable[]): string {
  // zsh runs the bash function through its bash-completion layer: one script, both shells.
  return [
    "#compdef talos-ext",
    "# talos-ext completion for zsh: source <(talos-ext completion zsh)",
    "autoload -U +X bashcompinit && bashcompinit",
    bash(commands).split("\n").slice(1).join("\n"),
  ].join("\n");
}

function fish(commands: Completable[]): string {
  const lines = [
    "# talos-ext completion for fish: talos-ext completion fish | source",
    "complete -c talos-ext -f",
  ];
  for (const c of commands) {
    lines.push(
      `complete -c talos-ext -n __fish_use_subcommand -a ${shellWord(c.name)} -d '${fishText(c.summary)}'`,
    );
  }
  for (const c of commands) {
    for (const [o, spec] of optionsOf(c)) {
      const value = spec.type === "string" ? " -r -F" : "";
      lines.push(
        `complete -c talos-ext -n '__fish_seen_subcommand_from ${shellWord(c.name)}' -l ${shellWord(o)}${value} -d '${fishText(spec.description)}'`,
      );
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The completion script of `shell` for these commands. */
export function completionScript(shell: string, commands: Completable[]): string {
  if (shell === "bash") return bash(commands);
  if (shell === "zsh") return zsh(commands);
  if (shell === "fish") return fish(commands);
  throw usageError(`completion: unknown shell "${shell}"`, "use bash, zsh or fish");
}

/** `talos-ext completion`: the commands it completes are passed in, so the list is never stale. */
export function completionCommand(commands: () => Completable[]): Command {
  return {
    name: "completion",
    summary: "print a shell completion script (bash, zsh, fish)",
    description: "Prints a completion script for the commands and options of this talos-ext.",
    positionals: [{ name: "shell", required: true, description: "bash, zsh or fish" }],
    options: {},
    examples: [
      "source <(talos-ext completion bash)",
      'talos-ext completion zsh > "${fpath[1]}/_talos-ext"',
      "talos-ext completion fish > ~/.config/fish/completions/talos-ext.fish",
    ],
    async run(ctx) {
      const script = completionScript(ctx.positionals[0]!, commands());
      if (ctx.json) ctx.io.stdout(`${JSON.stringify({ shell: ctx.positionals[0], script })}\n`);
      else ctx.io.stdout(script);
      return 0;
    },
  };
}
