/**
 * talosctl exits with 1 for every error (never another code) and prints the error text on stderr,
 * so the text is all there is to tell errors apart. These rules map the texts talosctl and the
 * Talos API print (gRPC status codes, apid's dial errors, the commands' own wording) to our codes.
 */
import type { TalosctlErrorCode } from "./errors.ts";

/** Which command family failed: some texts mean different things for different commands. */
export type CommandKind =
  | "version"
  | "get"
  | "health"
  | "logs"
  | "read"
  | "service"
  | "upgrade"
  | "reboot"
  | "rollback"
  | "etcd";

interface Rule {
  test: RegExp;
  code: TalosctlErrorCode;
  hint: string;
  /** Only for these commands. */
  only?: CommandKind[];
}

const RULES: Rule[] = [
  {
    test: /unknown (?:shorthand )?flag|unknown command|flag needs an argument|invalid argument ".*" for ".*" flag|accepts \d+ arg|requires (?:at least|at most|exactly) \d+ arg/i,
    code: "TALOSCTL_USAGE",
    hint: "This talosctl rejects a flag this package passed: check that `talosctl version --client` matches what createTalosctl() detected.",
  },
  {
    test: /requires exactly one node/i,
    code: "TALOSCTL_INVALID_ARGUMENT",
    hint: "Pass exactly one node.",
  },
  {
    test: /nodes are not set for the command/i,
    code: "TALOSCTL_INVALID_ARGUMENT",
    hint: "Pass a node.",
  },
  {
    test: /failed to (?:parse|read|load) (?:talos)?config|error (?:reading|loading) config|context "[^"]*" is not defined/i,
    code: "TALOSCTL_CONFIG_INVALID",
    hint: "Check the talosconfig path and context.",
  },
  {
    test: /upgrade failed with exit code|error (?:running|executing) installer|installer (?:failed|exited)|failed to pull image|error pulling image|error validating installer image/i,
    code: "TALOSCTL_UPGRADE_FAILED",
    hint: "Read installerOutput; check the installer image reference, that the node can pull it, and the upgrade window (1.N needs a node at >= 1.(N-2).0).",
    only: ["upgrade"],
  },
  {
    test: /another installation\/upgrade is already in progress/i,
    code: "TALOSCTL_BUSY",
    hint: "Wait for the running installation or upgrade to finish, then retry.",
  },
  {
    test: /error draining|drain(?:ing)? (?:node )?failed|failed to drain|cannot evict pod/i,
    code: "TALOSCTL_DRAIN_FAILED",
    hint: "The new boot entry is installed: the node switches version at its next reboot. Fix what blocks eviction (PodDisruptionBudgets), then reboot it, or roll back.",
    only: ["upgrade"],
  },
  {
    test: /previous UKI not found|revert is not implemented|no previous (?:boot entry|installation)|rollback is not supported/i,
    code: "TALOSCTL_ROLLBACK_FAILED",
    hint: "The node has no previous boot entry to return to.",
    only: ["rollback"],
  },
  {
    test: /only available on control plane nodes|not a control ?plane node|etcd is not (?:running|available) on this node/i,
    code: "TALOSCTL_NOT_CONTROL_PLANE",
    hint: "Pass a control-plane node (machineType() tells the role).",
  },
  {
    test: /code = (?:Unauthenticated|PermissionDenied)|authentication handshake failed|x509:|tls: |certificate (?:signed by unknown authority|has expired|is not valid)|not authorized/i,
    code: "TALOSCTL_AUTH",
    hint: "Check the talosconfig context (its certificates must match the cluster) and the role (upgrade, reboot and rollback need os:admin).",
  },
  {
    test: /no such host|name resolution|server misbehaving/i,
    code: "TALOSCTL_NODE_UNKNOWN",
    hint: "Check the node name or address; talosctl does not resolve `node` fields for you.",
  },
  {
    test: /failed to wait for reboot|waiting for (?:the )?node to (?:come back|reboot)|timeout waiting for (?:the )?node|did not come back/i,
    code: "TALOSCTL_REBOOT_TIMEOUT",
    hint: "The node did not come back within the tracking timeout: check its console; an upgrade may still be installed.",
    only: ["upgrade", "reboot"],
  },
  {
    test: /code = Unavailable|connection refused|no route to host|network is unreachable|connection reset|i\/o timeout|error checking Talos version compatibility|error getting version from node|transport is closing/i,
    code: "TALOSCTL_NODE_UNREACHABLE",
    hint: "Check that the node is up and that the endpoint can reach it on port 50000.",
  },
  {
    test: /is not registered|code = NotFound|doesn't exist|not registered on any nodes|no such file or directory/i,
    code: "TALOSCTL_NOT_FOUND_RESOURCE",
    hint: "Check the resource type, id, service or path (`talosctl get rd` lists the types).",
  },
  {
    test: /is ambiguous/i,
    code: "TALOSCTL_INVALID_ARGUMENT",
    hint: "Use the resource's full type name.",
  },
  {
    test: /context canceled|code = Canceled|signal: interrupt/i,
    code: "TALOSCTL_ABORTED",
    hint: "talosctl was interrupted (Ctrl-C or a supervisor); run the call again.",
  },
  {
    test: /context deadline exceeded|code = DeadlineExceeded|timed? ?out/i,
    code: "TALOSCTL_TIMEOUT",
    hint: "Raise the timeout, or check why the node is slow.",
  },
];

/** The code and hint for an error text printed by talosctl; undefined when no rule matches. */
export function classifyStderr(
  text: string,
  kind: CommandKind,
): { code: TalosctlErrorCode; hint: string } | undefined {
  for (const rule of RULES) {
    if (rule.only && !rule.only.includes(kind)) continue;
    if (rule.test.test(text)) return { code: rule.code, hint: rule.hint };
  }
  return undefined;
}

/**
 * The lines of stderr that say what failed: warnings and progress lines are dropped, the last few
 * error lines kept (talosctl prints its error last).
 */
export function errorDetail(stderr: string, maxChars = 600): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("WARNING:"));
  const tail = lines.slice(-3).join(" / ");
  return tail.length > maxChars ? `${tail.slice(0, maxChars)}…` : tail;
}
