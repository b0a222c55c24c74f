/**
 * Extension sets compared by manifest name (ids are positional and shift between images).
 * Virtual entries (`modules.dep`, `schematic`, `embedded-config`) are compared only when the
 * installer description lists them: a hand-written description rarely knows a kernel release.
 */
import { type ExtensionStatus, VIRTUAL_EXTENSIONS } from "@talos-ext/talosctl";
import type { InstallerExtension } from "./installer.ts";

/** One extension's change between what a node runs and what the installer installs. */
export interface ExtensionChange {
  /** The manifest name. */
  name: string;
  /** The version the node runs now (absent: added). */
  from?: string;
  /** The version the installer installs (absent: removed). */
  to?: string;
}

/** The difference of a node's extensions and an installer's, by name. */
export interface NodeExtensionDiff {
  /** In the installer, not on the node. */
  added: ExtensionChange[];
  /** On the node, not in the installer: gone after the upgrade. */
  removed: ExtensionChange[];
  /** On both, with another version. */
  changed: ExtensionChange[];
  /** On both, same version. */
  unchanged: ExtensionChange[];
}

/** A set of name -> version, as the node or the installer has it. */
export type ExtensionSet = {
  /** The extension's manifest name. */
  name: string;
  /** The extension's manifest version. */
  version: string;
}[];

/** The node's set as plain name/version pairs. */
export function nodeSet(list: readonly ExtensionStatus[]): ExtensionSet {
  return list.map((e) => ({ name: e.name, version: e.version }));
}

function comparable(
  node: ExtensionSet,
  installer: readonly InstallerExtension[],
): [Map<string, string>, Map<string, string>] {
  const listed = new Set(installer.map((e) => e.name));
  const keep = (name: string) => !VIRTUAL_EXTENSIONS.includes(name) || listed.has(name);
  return [
    new Map(node.filter((e) => keep(e.name)).map((e) => [e.name, e.version])),
    new Map(installer.filter((e) => keep(e.name)).map((e) => [e.name, e.version])),
  ];
}

/** What changes on a node that runs `node` when it boots `installer`. */
export function diffExtensions(
  node: ExtensionSet,
  installer: readonly InstallerExtension[],
): NodeExtensionDiff {
  const [have, want] = comparable(node, installer);
  const diff: NodeExtensionDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const [name, to] of want) {
    const from = have.get(name);
    if (from === undefined) diff.added.push({ name, to });
    else if (from !== to) diff.changed.push({ name, from, to });
    else diff.unchanged.push({ name, from, to });
  }
  for (const [name, from] of have) if (!want.has(name)) diff.removed.push({ name, from });
  return diff;
}

/** Whether the node runs exactly the installer's set. */
export function sameSet(node: ExtensionSet, installer: readonly InstallerExtension[]): boolean {
  const d = diffExtensions(node, installer);
  return d.added.length === 0 && d.removed.length === 0 && d.changed.length === 0;
}
