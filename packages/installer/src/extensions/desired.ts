/**
 * The desired extension set: what nodes run now plus what is requested, nothing dropped unless
 * removed by name. An upgrade replaces the whole set (an installer carries exactly its own
 * extensions), so the current set is the starting point and every change is shown as a diff.
 */
import { installerError } from "../codes.ts";
import type { OfficialCatalog } from "./catalog.ts";
import { officialEntry } from "./catalog.ts";
import { checkCompatible, type ExtensionSetEntry, extensionEntry } from "./model.ts";

/** One requested extension: an entry (our build, or an official one) or an official name. */
export type ExtensionRequest = ExtensionSetEntry | string;

/** Options of {@link desiredSet}. */
export interface DesiredSetOptions {
  /** What the node (or nodes) run now, in order. */
  current: readonly ExtensionSetEntry[];
  /** What to add or replace: entries, or official names (`iscsi-tools`, `siderolabs/iscsi-tools`). */
  requested?: readonly ExtensionRequest[];
  /** Names to remove; removal happens only through this list. */
  remove?: readonly string[];
  /**
   * The target release's official catalog: resolves official names, and re-pins current
   * official extensions (node entries, whose images nodes do not record) to that release.
   */
  catalog?: OfficialCatalog;
  /** Target Talos version: every entry's constraint is checked against it. */
  talosVersion?: string;
}

/** A version or image change of one extension. */
export interface ChangedExtension {
  /** Manifest name. */
  name: string;
  /** Before. */
  from: ExtensionSetEntry;
  /** After. */
  to: ExtensionSetEntry;
}

/** What changes between two sets, by manifest name. */
export interface ExtensionDiff {
  /** Present before and after, same version and image (as far as both sides know). */
  kept: ExtensionSetEntry[];
  /** Only after. */
  added: ExtensionSetEntry[];
  /** Only before. */
  removed: ExtensionSetEntry[];
  /** Present on both sides with another version or image. */
  changed: ChangedExtension[];
}

/** The desired set and how it differs from the current one. */
export interface DesiredSet {
  /** The desired entries, current order first, then new ones in request order. */
  entries: ExtensionSetEntry[];
  /** Against `current`. */
  diff: ExtensionDiff;
  /** Names whose image is still unknown (a custom extension found on a node and not rebuilt). */
  unresolved: string[];
  /** Whether every entry is official (the Image Factory can build it; otherwise the imager). */
  allOfficial: boolean;
}

function sameExtension(a: ExtensionSetEntry, b: ExtensionSetEntry): boolean {
  if (a.version !== undefined && b.version !== undefined && a.version !== b.version) return false;
  if (a.image !== undefined && b.image !== undefined && a.image !== b.image) return false;
  return true;
}

/** Compares two sets by manifest name (order is not a difference here). */
export function diffSets(
  before: readonly ExtensionSetEntry[],
  after: readonly ExtensionSetEntry[],
): ExtensionDiff {
  const diff: ExtensionDiff = { kept: [], added: [], removed: [], changed: [] };
  const afterByName = new Map(after.map((e) => [e.name, e]));
  const beforeNames = new Set(before.map((e) => e.name));
  for (const b of before) {
    const a = afterByName.get(b.name);
    if (!a) diff.removed.push(b);
    else if (sameExtension(b, a)) diff.kept.push(a);
    else diff.changed.push({ name: b.name, from: b, to: a });
  }
  for (const a of after) if (!beforeNames.has(a.name)) diff.added.push(a);
  return diff;
}

function resolveRequest(req: ExtensionRequest, catalog: OfficialCatalog | undefined): ExtensionSetEntry {
  if (typeof req !== "string") return extensionEntry(req);
  if (!catalog) {
    throw installerError(
      "EXTSET_UNKNOWN_OFFICIAL",
      `official extension "${req}" cannot be resolved without the release's catalog`,
      "pass the catalog (readOfficialCatalog) for the target Talos version",
    );
  }
  const found = catalog.find(req);
  if (!found) {
    const guess = catalog.suggest(req);
    throw installerError(
      "EXTSET_UNKNOWN_OFFICIAL",
      `"${req}" is not an official extension${catalog.tag ? ` of ${catalog.tag}` : ""}`,
      guess
        ? `did you mean "${guess}"?`
        : "list the release's extensions (readOfficialCatalog) for the names",
    );
  }
  return officialEntry(found);
}

/** Computes the desired set: current + requested - removed, with the diff. */
export function desiredSet(options: DesiredSetOptions): DesiredSet {
  const current = options.current.map((e) => extensionEntry(e));
  const remove = new Set(options.remove ?? []);
  const requested: ExtensionSetEntry[] = [];
  const byName = new Map<string, ExtensionSetEntry>();
  for (const req of options.requested ?? []) {
    const e = resolveRequest(req, options.catalog);
    const prev = byName.get(e.name);
    if (prev) {
      if (prev.image !== e.image) {
        throw installerError(
          "EXTSET_CONFLICT",
          `extension ${e.name} is requested twice with different images (${prev.image ?? "?"} and ${e.image ?? "?"})`,
          "request each extension once",
        );
      }
      continue;
    }
    if (remove.has(e.name)) {
      throw installerError(
        "EXTSET_CONFLICT",
        `extension ${e.name} is both requested and removed`,
        "keep one of the two",
      );
    }
    byName.set(e.name, e);
    requested.push(e);
  }
  const currentNames = new Set(current.map((e) => e.name));
  for (const name of remove) {
    if (!currentNames.has(name)) {
      const close = [...currentNames].find((n) => n.endsWith(`/${name}`) || name.endsWith(`/${n}`));
      throw installerError(
        "EXTSET_REMOVE_UNKNOWN",
        `cannot remove "${name}": the current set has no such extension`,
        close
          ? `did you mean "${close}"?`
          : `the current set is: ${[...currentNames].join(", ") || "(empty)"}`,
      );
    }
  }
  const entries: ExtensionSetEntry[] = [];
  const seen = new Set<string>();
  for (const cur of current) {
    if (seen.has(cur.name)) continue;
    seen.add(cur.name);
    if (remove.has(cur.name)) continue;
    const replacement = byName.get(cur.name);
    if (replacement) {
      entries.push(replacement);
      continue;
    }
    // A node entry of an official extension is re-pinned to the target release's image.
    if (cur.image === undefined && options.catalog) {
      const found = options.catalog.find(cur.name);
      if (found) {
        entries.push(officialEntry(found));
        continue;
      }
    }
    entries.push(cur);
  }
  for (const e of requested) if (!seen.has(e.name)) entries.push(e);
  if (options.talosVersion) for (const e of entries) checkCompatible(e, options.talosVersion);
  return {
    entries,
    diff: diffSets(current, entries),
    unresolved: entries.filter((e) => e.image === undefined).map((e) => e.name),
    allOfficial: entries.every((e) => e.origin === "official"),
  };
}
