/**
 * Applies what one bldr script instruction does to the filesystem, as far as the source tells:
 * the usual file commands (`mkdir`, `install`, `cp`, `mv`, `ln`, `touch`, `rm`, redirections)
 * are followed exactly when their paths are literal; anything else (build systems, installers,
 * computed paths) makes the places it may write opaque, with a reason. Lint then knows "present",
 * "absent" or "cannot tell", and never guesses "absent" where a script may have written.
 */
import { posix } from "node:path";
import { type FsEntry, type FsFacts, isUnder, normalizePath } from "./fs-facts.ts";
import { type ShellVars, type ShellWord, type SimpleCommand, simpleCommands } from "./shell-words.ts";

/** Where a script instruction runs: its provenance and environment. */
export interface ScriptContext {
  /** Where the instruction comes from, for reasons: e.g. `svc steps[0].install[1]`. */
  where: string;
  /** The instruction, for locating what it makes: its package and YAML path in that pkg.yaml. */
  madeBy?: { pkg: string; path: readonly (string | number)[] };
  /** Environment at this point: built-ins, step `env` so far, `PKG_NAME`. */
  env: Record<string, string>;
}

/** Commands that only read (or only change modes and contents of existing files). */
const READ_ONLY = new Set(
  (
    "test [ [[ echo printf cat grep egrep fgrep ls readlink realpath stat file sha256sum sha512sum " +
    "md5sum true false exit set shift return wc head tail sort uniq cut tr awk sed chmod chown chgrp " +
    "strip diff cmp which type hash sleep date uname id basename dirname nproc local declare readonly " +
    "unset : pushd popd trap wait break continue umask ulimit getconf cd read mapfile patchelf " +
    "fi done esac } {"
  ).split(" "),
);
/** Words that may stand before a command without being it. */
const PREFIXES = new Set([
  "then",
  "do",
  "else",
  "elif",
  "if",
  "while",
  "until",
  "!",
  "{",
  "time",
  "sudo",
  "exec",
  "command",
  "nohup",
]);

type Target = { path: string } | { opaque: string };

class Interpreter {
  private cwd: string | undefined = "/tmp/build";
  private readonly vars: ShellVars;
  private readonly facts: FsFacts;
  private readonly ctx: ScriptContext;

  constructor(facts: FsFacts, ctx: ScriptContext) {
    this.facts = facts;
    this.ctx = ctx;
    this.vars = new Map(Object.entries(ctx.env));
  }

  run(script: string): void {
    for (const cmd of simpleCommands(script, this.vars)) this.command(cmd);
  }

  /** Records a path this instruction makes. */
  private put(path: string, entry: FsEntry): void {
    this.facts.add(path, this.ctx.madeBy ? { ...entry, madeBy: this.ctx.madeBy } : entry);
  }

  /** Records that this instruction may remove what is at or below `t`. */
  private mayRemove(t: Target, why: string): void {
    this.facts.addRemoval("path" in t ? t.path : t.opaque, why);
  }

  /** A noun phrase for diagnostics: what wrote content lint cannot follow. */
  private reason(cmd: string, what?: string): string {
    return `\`${cmd}\` in ${this.ctx.where}${what ? ` (${what})` : ""}`;
  }

  /** Where a word points: a path, or (computed) the directory below which it may point. */
  private target(w: ShellWord): Target {
    if (!w.computed && !w.glob) {
      if (w.text.startsWith("/")) return { path: normalizePath(w.text) };
      return this.cwd === undefined ? { opaque: "/" } : { path: normalizePath(w.text, this.cwd) };
    }
    const literal = w.computed ? w.prefix : w.text.slice(0, w.text.search(/[*?[]/));
    const dir = literal.slice(0, literal.lastIndexOf("/") + 1);
    if (literal.startsWith("/")) return { opaque: normalizePath(dir || "/") };
    if (this.cwd === undefined || (w.computed && literal === "")) return { opaque: "/" };
    return { opaque: normalizePath(dir, this.cwd) };
  }

  /** Sources of a copy: globs in the last segment expand over what is known. */
  private sources(w: ShellWord): Target[] {
    if (!w.glob || w.computed) return [this.target(w)];
    const slash = w.text.lastIndexOf("/");
    const dirText = slash < 0 ? "." : w.text.slice(0, slash) || "/";
    const pattern = w.text.slice(slash + 1);
    if (/[*?[]/.test(dirText) || this.cwd === undefined) return [this.target(w)];
    const dir = normalizePath(dirText, this.cwd);
    // If the directory may hold names lint does not know, the glob may match them too.
    if (this.facts.lookup(posix.join(dir, "\u0000")).state === "unknown") return [this.target(w)];
    const re = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|\\]/g, "\\$&")
        .replace(/\*/g, "[^/]*")
        .replace(/\?/g, "[^/]")}$`,
    );
    return this.facts
      .children(dir)
      .filter((n) => re.test(n) && !(n.startsWith(".") && !pattern.startsWith(".")))
      .map((n) => ({ path: posix.join(dir, n) }));
  }

  private markOpaque(t: Target, why: string): void {
    this.facts.addOpaque("path" in t ? t.path : t.opaque, why);
  }

  private command(cmd: SimpleCommand): void {
    let words = cmd.words;
    for (const w of cmd.writes) {
      const t = this.target(w);
      if ("path" in t) {
        if (!isUnder(t.path, "/dev") && !isUnder(t.path, "/proc")) this.put(t.path, { kind: "file" });
      } else this.markOpaque(t, this.reason(`${words[0]?.text ?? ""} >`, "a computed path"));
    }
    while (words.length && !words[0]!.computed && PREFIXES.has(words[0]!.text)) words = words.slice(1);
    // Leading assignments: alone they set shell variables, before a command only its environment.
    const assigns: ShellWord[] = [];
    while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!.prefix)) assigns.push(words.shift()!);
    if (words.length === 0) {
      for (const a of assigns) this.assign(a);
      return;
    }
    const head = words[0]!;
    if (head.computed) {
      const why = this.reason(head.prefix || "$…", "a computed command");
      this.markOpaque({ opaque: "/" }, why);
      this.mayRemove({ opaque: "/" }, why);
      return;
    }
    const name = posix.basename(head.text);
    const args = words.slice(1);
    switch (name) {
      case "export":
        for (const a of args) if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(a.prefix)) this.assign(a);
        return;
      case "for":
        if (args[0] && !args[0].computed) this.vars.set(args[0].text, undefined);
        return;
      case "read":
        for (const a of args) if (!a.text.startsWith("-") && !a.computed) this.vars.set(a.text, undefined);
        return;
      case "cd":
        this.cd(args);
        return;
      case "mkdir":
        this.mkdir(args);
        return;
      case "install":
        this.install(args);
        return;
      case "cp":
        this.copy("cp", args, false);
        return;
      case "mv":
        this.copy("mv", args, true);
        return;
      case "ln":
        this.ln(args);
        return;
      case "touch":
        for (const a of operands(args, ["-d", "-t", "-r"])) this.create(a, "touch", "file");
        return;
      case "rm":
      case "rmdir":
        for (const a of operands(args, [])) {
          const t = this.target(a);
          if ("path" in t) this.facts.remove(t.path);
          else this.mayRemove(t, this.reason(name, "a computed path"));
        }
        return;
      case "tee":
        for (const a of operands(args, [])) this.create(a, "tee", "file");
        return;
      case "tar":
        this.tar(args);
        return;
      case "sh":
      case "bash":
      case "eval":
      case "xargs":
        this.markOpaque({ opaque: "/" }, this.reason(name));
        this.mayRemove({ opaque: "/" }, this.reason(name));
        return;
      case "find":
        this.find(args);
        return;
    }
    if (READ_ONLY.has(name)) return;
    this.generic(name, args, assigns);
  }

  private assign(a: ShellWord): void {
    const eq = a.text.indexOf("=");
    const key = a.prefix.slice(0, a.prefix.indexOf("="));
    this.vars.set(key, a.computed ? undefined : a.text.slice(eq + 1));
  }

  private cd(args: ShellWord[]): void {
    const a = args.find((w) => w.computed || !w.text.startsWith("-"));
    if (!a) return;
    const t = this.target(a);
    this.cwd = "path" in t ? t.path : undefined;
  }

  private create(w: ShellWord, cmd: string, kind: "file" | "dir" | "any"): void {
    const t = this.target(w);
    if ("path" in t) this.put(t.path, { kind });
    else this.markOpaque(t, this.reason(cmd, "a computed path"));
  }

  private mkdir(args: ShellWord[]): void {
    for (const a of operands(args, ["-m", "--mode", "--context"])) this.create(a, "mkdir", "dir");
  }

  private install(args: ShellWord[]): void {
    const dirMode = args.some(
      (a) => !a.computed && (/^-[A-Za-z]*d/.test(a.text) || a.text === "--directory"),
    );
    const targetDir = optionValue(args, "-t", "--target-directory");
    const rest = operands(args, [
      "-m",
      "--mode",
      "-o",
      "--owner",
      "-g",
      "--group",
      "-t",
      "--target-directory",
      "-S",
      "--suffix",
    ]);
    if (dirMode) {
      for (const a of rest) this.create(a, "install -d", "dir");
      return;
    }
    this.copyTo("install", rest, targetDir, false, false);
  }

  private copy(cmd: "cp" | "mv", args: ShellWord[], move: boolean): void {
    const recursive =
      cmd === "mv" ||
      args.some((a) => !a.computed && /^(-[A-Za-z]*[rRa]|--recursive|--archive)$/.test(a.text));
    const targetDir = optionValue(args, "-t", "--target-directory");
    const rest = operands(args, ["-t", "--target-directory", "-S", "--suffix"]);
    this.copyTo(cmd, rest, targetDir, recursive, move);
  }

  /** `cmd SRC… DEST` or `cmd -t DIR SRC…`. */
  private copyTo(
    cmd: string,
    rest: ShellWord[],
    targetDir: ShellWord | undefined,
    recursive: boolean,
    move: boolean,
  ): void {
    const destWord = targetDir ?? rest[rest.length - 1];
    const srcWords = targetDir ? rest : rest.slice(0, -1);
    if (!destWord || srcWords.length === 0) return;
    const dest = this.target(destWord);
    if (!("path" in dest)) {
      this.markOpaque(dest, this.reason(cmd, "to a computed path"));
      return;
    }
    const sources = srcWords.flatMap((w) => this.sources(w));
    const intoDir =
      targetDir !== undefined ||
      sources.length > 1 ||
      destWord.text.endsWith("/") ||
      this.facts.isDir(dest.path);
    for (const s of sources) {
      if (!("path" in s)) {
        // Unknown sources: whatever they are lands in the destination.
        this.put(dest.path, { kind: intoDir ? "dir" : "any" });
        this.markOpaque(dest, this.reason(cmd, "computed sources"));
        if (move) this.mayRemove(s, this.reason(cmd, "computed sources"));
        continue;
      }
      const to = intoDir ? posix.join(dest.path, posix.basename(s.path)) : dest.path;
      const at = this.facts.lookup(s.path);
      if (at.state === "present" && (at.entry.kind !== "dir" || recursive)) {
        if (at.entry.kind === "dir" || this.facts.isDir(s.path)) this.facts.copyFrom(this.facts, s.path, to);
        else this.put(to, at.entry);
      } else if (at.state === "present") {
        continue; // cp without -r skips a directory
      } else {
        // Made by a step lint cannot follow (a build output), or in an opaque region. Without
        // -r, cp and install copy only non-directories.
        this.put(to, { kind: recursive ? "any" : "file" });
        if (recursive) this.markOpaque({ path: to }, this.reason(cmd, `of ${s.path}`));
      }
      if (move) this.facts.remove(s.path);
    }
  }

  private ln(args: ShellWord[]): void {
    const rest = operands(args, ["-S", "--suffix", "-t", "--target-directory"]);
    if (rest.length === 0) return;
    if (rest.length === 1) {
      const t = this.target(rest[0]!);
      const name = "path" in t ? posix.basename(t.path) : undefined;
      if (name && this.cwd) this.put(posix.join(this.cwd, name), { kind: "file" });
      return;
    }
    const destWord = rest[rest.length - 1]!;
    const dest = this.target(destWord);
    if (!("path" in dest)) {
      this.markOpaque(dest, this.reason("ln", "a computed path"));
      return;
    }
    const intoDir = rest.length > 2 || destWord.text.endsWith("/") || this.facts.isDir(dest.path);
    for (const s of rest.slice(0, -1)) {
      const name = posix.basename(s.computed ? s.prefix : s.text);
      if (intoDir && (s.computed || name === "")) {
        this.markOpaque(dest, this.reason("ln", "computed names"));
      } else this.put(intoDir ? posix.join(dest.path, name) : dest.path, { kind: "file" });
    }
  }

  private tar(args: ShellWord[]): void {
    const first = args[0]?.text ?? "";
    const flags = args.filter((a) => a.text.startsWith("-")).map((a) => a.text);
    const mode = /^[^-]/.test(first) ? first : flags.join("");
    const dir = optionValue(args, "-C", "--directory");
    if (/x/.test(mode) || flags.includes("--extract") || flags.includes("--get")) {
      const where: Target = dir ? this.target(dir) : this.cwd ? { path: this.cwd } : { opaque: "/" };
      this.markOpaque(where, this.reason("tar", "an unpacked archive"));
      return;
    }
    if (/c/.test(mode) || flags.includes("--create")) {
      const f = optionValue(args, "-f", "--file");
      if (f) this.create(f, "tar", "file");
    }
  }

  /** `find PATH… -delete` or `-exec …`: may remove anything below its start paths. */
  private find(args: ShellWord[]): void {
    if (!args.some((a) => ["-delete", "-exec", "-execdir", "-ok"].includes(a.text))) return;
    const why = this.reason("find", "-delete/-exec");
    const starts = args.slice(
      0,
      Math.max(
        0,
        args.findIndex((a) => /^[-(!]/.test(a.text)),
      ),
    );
    if (starts.length === 0) starts.push({ text: ".", computed: false, prefix: ".", glob: false });
    for (const a of starts) {
      this.mayRemove(this.target(a), why);
      if (args.some((x) => x.text.startsWith("-exec") || x.text === "-ok"))
        this.markOpaque(this.target(a), why);
    }
  }

  /** Any other program: it may write (or delete) in the working directory and at every absolute path it is given. */
  private generic(name: string, args: ShellWord[], assigns: ShellWord[]): void {
    const why = this.reason(name);
    this.mayRemove(this.cwd ? { path: this.cwd } : { opaque: "/" }, why);
    if (this.cwd) this.facts.addOpaque(this.cwd, why);
    else this.facts.addOpaque("/", why);
    let destdir = false;
    for (const a of [...assigns, ...args]) {
      const eq = a.prefix.indexOf("=");
      const key = eq > 0 ? a.prefix.slice(0, eq) : "";
      if (key === "DESTDIR" || key === "--destdir") destdir = true;
      const value: ShellWord =
        eq > 0 ? { ...a, text: a.text.slice(eq + 1), prefix: a.prefix.slice(eq + 1) } : a;
      const literal = value.computed ? value.prefix : value.text;
      if (!literal.startsWith("/") || isUnder(normalizePath(literal), "/dev")) continue;
      this.markOpaque(this.target(value), why);
      this.mayRemove(this.target(value), why);
    }
    // Output files named with -o are made (the generic rule above already covers their content).
    const out = optionValue(args, "-o", "--output");
    if (out) this.create(out, name, "file");
    const installs = args.some((a) => a.text === "install" || a.text === "--install");
    if (installs && !destdir) this.facts.addOpaque("/", this.reason(name, "install without DESTDIR"));
  }
}

/** Non-option words; options listed in `withValue` take the next word (or `=value`). */
function operands(args: ShellWord[], withValue: string[]): ShellWord[] {
  const out: ShellWord[] = [];
  let endOfOptions = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (endOfOptions || a.computed || !a.text.startsWith("-") || a.text === "-") {
      out.push(a);
      continue;
    }
    if (a.text === "--") {
      endOfOptions = true;
      continue;
    }
    if (withValue.includes(a.text)) i++;
  }
  return out;
}

/** The value of `-x VALUE`, `-xVALUE`, `--long=VALUE` or `--long VALUE`. */
function optionValue(args: ShellWord[], short: string, long: string): ShellWord | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.computed && !a.prefix.startsWith("-")) continue;
    const t = a.computed ? a.prefix : a.text;
    if (t === short || t === long) return args[i + 1];
    if (t.startsWith(`${long}=`))
      return { ...a, text: a.text.slice(long.length + 1), prefix: a.prefix.slice(long.length + 1) };
    if (short.length === 2 && t.startsWith(short) && t.length > 2 && !t.startsWith("--"))
      return { ...a, text: a.text.slice(2), prefix: a.prefix.slice(2) };
  }
  return undefined;
}

/** Applies one script instruction's effects to `facts`. */
export function applyScript(facts: FsFacts, script: string, ctx: ScriptContext): void {
  new Interpreter(facts, ctx).run(script);
}
