/**
 * Extension service specs (`rootfs/usr/local/etc/containers/*.yaml`, Talos `services.Spec`):
 * decoded leniently like Talos, then checked with the rules and messages of `Spec.Validate()`
 * (V1–V7 in talos-extensions.md §3.7).
 */
import type { DecodedYaml } from "../yaml/decode.ts";
import { type DecodeResult, decodeWithSchema } from "./engine.ts";
import {
  ALWAYS,
  emptyIfNull,
  goBool,
  goEnum,
  goList,
  goQuote,
  goString,
  goStruct,
  goUint32,
  type IssueSink,
  isRecord,
  report,
  text,
  zeroIfNull,
} from "./go.ts";

/** How Talos restarts an extension service: forever, never, or until it exits 0. */
export const RESTART_KINDS = ["always", "never", "untilSuccess"] as const;
/** One of {@link RESTART_KINDS}. */
export type RestartKind = (typeof RESTART_KINDS)[number];
/** The network readiness checks a service can wait for (`depends: [{ network: [...] }]`). */
export const NETWORK_STATUSES = ["addresses", "connectivity", "hostname", "etcfiles"] as const;
/** One network readiness check (see {@link NETWORK_STATUSES}). */
export type NetworkStatus = (typeof NETWORK_STATUSES)[number];

/** An OCI id mapping; YAML keys are the lower-cased Go field names. */
export interface IdMapping {
  containerid: number;
  hostid: number;
  size: number;
}
/** An OCI mount (`specs.Mount`); YAML keys are the lower-cased Go field names. */
export interface ServiceMount {
  /** Host path (or filesystem source); created as a directory when missing. */
  source: string;
  /** Mount point inside the container. */
  destination: string;
  /** Filesystem type, e.g. `bind`. */
  type: string;
  /** Mount options, e.g. `rbind`, `ro`. */
  options: string[];
  /** User id mappings for an idmapped mount. */
  uidmappings: IdMapping[];
  /** Group id mappings for an idmapped mount. */
  gidmappings: IdMapping[];
}
/** A container's `security`; Go zero values when absent. */
export interface ServiceSecurity {
  /** False: the container rootfs is read-only. */
  writeableRootfs: boolean;
  /** True: `/sys` is mounted read-write. */
  writeableSysfs: boolean;
  /** `null`: absent or null, containerd's defaults stay; `[]`: the defaults are cleared. */
  maskedPaths: string[] | null;
  /** `null`: containerd's default read-only paths stay; `[]`: they are cleared. */
  readonlyPaths: string[] | null;
  /** OCI rootfs propagation, passed verbatim (`shared`, `rslave`, …); `""` is the runtime default. */
  rootfsPropagation: string;
}
/** A service spec's `container`: what runs and how it is confined. */
export interface ServiceContainer {
  /** argv[0], resolved inside the container rootfs (`./bin` or an absolute container path). */
  entrypoint: string;
  /** Arguments appended after the entrypoint. */
  args: string[];
  /** `KEY=VALUE` entries; Talos does not validate them. */
  environment: string[];
  /** Deprecated host path of an env file; the service waits for it to exist. */
  environmentFile: string;
  /** OCI mounts; a missing `source` is created as a directory (0700) before start. */
  mounts: ServiceMount[];
  /** Rootfs and sysfs writability, masked and read-only paths, mount propagation. */
  security: ServiceSecurity;
}
/** One `depends` entry; Go zero values for the kinds not set (`time: false` counts as not set). */
export interface ServiceDependency {
  /** A Talos service id to wait for (`cri`, `ext-other`); `""` when not set. */
  service: string;
  /** An absolute path to wait for; `""` when not set. */
  path: string;
  /** Network readiness checks to wait for; empty when not set. */
  network: NetworkStatus[];
  /** `time: true`: wait for time sync. */
  time: boolean;
  /** `configuration: true`: wait for this service's ExtensionServiceConfig (forever if there is none). */
  configuration: boolean;
}
/** An extension service spec (`/usr/local/etc/containers/<file>.yaml`), Go zero values filled in. */
export interface ServiceSpec {
  /** The service name, `^[-_a-z0-9]+$`; Talos runs it as `ext-<name>`. */
  name: string;
  /** What runs and how it is confined. */
  container: ServiceContainer;
  /** What the service waits for; `containerd` is always implied. */
  depends: ServiceDependency[];
  /** How Talos restarts it. */
  restart: RestartKind;
  /** Also log to the console (forced on by machine config `debug: true`). */
  logToConsole: boolean;
}

const SERVICE_NAME = /^[-_a-z0-9]{1,}$/;

const stringList = (description: string) =>
  emptyIfNull(goList(goString(), { goType: "[]string", description }), () => []);

const idMappingSchema = () =>
  zeroIfNull(
    goStruct(
      {
        containerid: goUint32("First id in the container.").default(0),
        hostid: goUint32("First id on the host.").default(0),
        size: goUint32("Number of ids mapped.").default(0),
      },
      { goType: "specs.LinuxIDMapping", owner: "Talos", label: "id mapping" },
    ),
  );

const mountSchema = goStruct(
  {
    source: goString("Host path; created as a directory (0700) if it does not exist.").default(""),
    destination: goString("Path in the container.").default(""),
    type: goString("Mount type, usually bind.").default(""),
    options: stringList("Mount options, e.g. [bind, ro] or [rbind, rw]."),
    uidmappings: emptyIfNull(goList(idMappingSchema(), { goType: "[]specs.LinuxIDMapping" }), () => []),
    gidmappings: emptyIfNull(goList(idMappingSchema(), { goType: "[]specs.LinuxIDMapping" }), () => []),
  },
  {
    goType: "specs.Mount",
    owner: "Talos",
    label: "mount",
    description: "An OCI mount. Keys are lower-case (uidmappings, not uidMappings).",
  },
);

const securitySchema = goStruct(
  {
    writeableRootfs: goBool("Make the container rootfs writable (read-only by default).").default(false),
    writeableSysfs: goBool("Mount /sys read-write.").default(false),
    maskedPaths: goList(goString(), { goType: "[]string" }).nullable().default(null).meta({
      description:
        "Paths masked in the container. Absent or null keeps containerd's defaults; [] clears them.",
    }),
    readonlyPaths: goList(goString(), { goType: "[]string" }).nullable().default(null).meta({
      description:
        "Read-only paths in the container. Absent or null keeps containerd's defaults; [] clears them.",
    }),
    rootfsPropagation: goString(
      "Rootfs mount propagation, passed through unchecked: shared, slave, private, unbindable or their r-variants.",
    ).default(""),
  },
  { goType: "services.Security", owner: "Talos", label: "security" },
);

const containerSchema = goStruct(
  {
    entrypoint: goString("Program to run, resolved inside the container rootfs.").default(""),
    args: stringList("Arguments after the entrypoint."),
    environment: stringList("KEY=VALUE entries."),
    environmentFile: goString(
      "Deprecated: host path of an env file; use an ExtensionServiceConfig instead.",
    ).default(""),
    mounts: emptyIfNull(goList(zeroIfNull(mountSchema), { goType: "[]specs.Mount" }), () => []),
    security: zeroIfNull(securitySchema),
  },
  { goType: "services.Container", owner: "Talos", label: "container", required: ["entrypoint"] },
).superRefine((c, ctx) => {
  if (isRecord(c) && text(c.entrypoint) === "") {
    report(
      ctx,
      ["entrypoint"],
      "SCHEMA_SERVICE_INVALID",
      "container endpoint can't be empty",
      "set `container.entrypoint:` to the program to run (a path inside the container rootfs)",
    );
  }
}, ALWAYS);

const networkStatus = goEnum(NETWORK_STATUSES, {
  message: (v) => `${v} does not belong to Status values`,
  caseInsensitive: true,
  hint: `use any of: ${NETWORK_STATUSES.join(", ")}`,
});

const dependencySchema = goStruct(
  {
    service: goString("Wait for this service to be up, e.g. cri, udevd or ext-<name>.").default(""),
    path: goString("Wait for this absolute path to exist.").default(""),
    network: emptyIfNull(
      goList(networkStatus, {
        goType: "[]nethelpers.Status",
        description: "Wait for these network readiness checks.",
      }),
      () => [],
    ),
    time: goBool("Wait for time sync.").default(false),
    configuration: goBool("Wait for the ExtensionServiceConfig document named like this service.").default(
      false,
    ),
  },
  {
    goType: "services.Dependency",
    owner: "Talos",
    label: "service dependency",
    description: "Exactly one of service, path, network, time or configuration.",
  },
)
  .superRefine((d, ctx) => validateDependency(d, ctx), ALWAYS)
  .transform((d): ServiceDependency => ({ ...d, network: d.network as NetworkStatus[] }));

const DEPENDENCY_HINT =
  "give each `depends` entry exactly one of service, path, network, time: true or configuration: true";

function validateDependency(d: unknown, ctx: IssueSink): void {
  if (!isRecord(d)) return;
  let kinds = 0;
  if (text(d.service)) kinds++;
  const path = text(d.path);
  if (path) {
    kinds++;
    if (!path.startsWith("/")) {
      report(
        ctx,
        ["path"],
        "SCHEMA_SERVICE_INVALID",
        `path is not absolute: ${goQuote(path)}`,
        "use an absolute path",
      );
    }
  }
  if (Array.isArray(d.network) && d.network.length > 0) {
    kinds++;
    d.network.forEach((status, i) => {
      // A null list item decodes to Status(0), which Talos's validation rejects.
      if (status === undefined) {
        report(
          ctx,
          ["network", i],
          "SCHEMA_SERVICE_INVALID",
          "invalid network dependency: Status(0)",
          `use any of: ${NETWORK_STATUSES.join(", ")}`,
        );
      }
    });
  }
  if (d.time === true) kinds++;
  if (d.configuration === true) kinds++;
  if (kinds === 0) report(ctx, [], "SCHEMA_SERVICE_INVALID", "no dependency specified", DEPENDENCY_HINT);
  if (kinds > 1)
    report(ctx, [], "SCHEMA_SERVICE_INVALID", "more than a single dependency is set", DEPENDENCY_HINT);
}

const specFields = goStruct(
  {
    name: goString("Service name ([-_a-z0-9]+); the service runs as ext-<name>.").default(""),
    container: zeroIfNull(containerSchema),
    depends: emptyIfNull(
      goList(zeroIfNull(dependencySchema), {
        goType: "[]services.Dependency",
        description: "What to wait for before start.",
      }),
      () => [],
    ),
    restart: goEnum(RESTART_KINDS, {
      message: (v) => `${v} does not belong to RestartKind values`,
      caseInsensitive: true,
      hint: `use ${RESTART_KINDS.join(", ")}`,
      description: "Restart policy: always, never or untilSuccess (any letter case).",
    }),
    logToConsole: goBool("Also send the service log to the console.").default(false),
  },
  {
    goType: "services.Spec",
    owner: "Talos",
    label: "service spec",
    required: ["name", "container", "restart"],
  },
).superRefine((s, ctx) => validateSpec(s, ctx), ALWAYS);

function validateSpec(s: unknown, ctx: IssueSink): void {
  if (!isRecord(s)) return;
  const name = text(s.name);
  if (name !== undefined && !SERVICE_NAME.test(name)) {
    report(
      ctx,
      ["name"],
      "SCHEMA_SERVICE_INVALID",
      `name ${goQuote(name)} is invalid`,
      "use only lower-case letters, digits, - and _",
    );
  }
  if (s.restart === undefined) {
    report(
      ctx,
      ["restart"],
      "SCHEMA_SERVICE_INVALID",
      "restart kind is invalid: RestartKind(0)",
      `add \`restart:\` with one of ${RESTART_KINDS.join(", ")}`,
    );
  }
}

/** The service spec schema: decodes leniently, fills in Go zero values, checks Talos's rules. */
export const serviceSpecSchema = zeroIfNull(specFields).transform(
  (s): ServiceSpec => ({ ...s, restart: s.restart as RestartKind }),
);

/**
 * Decodes a service spec as Talos does and validates it with Talos's messages; errors are diagnostics, never
 * thrown.
 */
export function decodeServiceSpec(doc: DecodedYaml): DecodeResult<ServiceSpec> {
  return decodeWithSchema(serviceSpecSchema, doc);
}
