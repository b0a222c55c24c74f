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

export const RESTART_KINDS = ["always", "never", "untilSuccess"] as const;
export type RestartKind = (typeof RESTART_KINDS)[number];
export const NETWORK_STATUSES = ["addresses", "connectivity", "hostname", "etcfiles"] as const;
export type NetworkStatus = (typeof NETWORK_STATUSES)[number];

/** An OCI id mapping; YAML keys are the lower-cased Go field names. */
export interface IdMapping {
  containerid: number;
  hostid: number;
  size: number;
}
/** An OCI mount (`specs.Mount`); YAML keys are the lower-cased Go field names. */
export interface ServiceMount {
  source: string;
  destination: string;
  type: string;
  options: string[];
  uidmappings: IdMapping[];
  gidmappings: IdMapping[];
}
export interface ServiceSecurity {
  writeableRootfs: boolean;
  writeableSysfs: boolean;
  /** `null`: absent or null, containerd's defaults stay; `[]`: the defaults are cleared. */
  maskedPaths: string[] | null;
  readonlyPaths: string[] | null;
  rootfsPropagation: string;
}
export interface ServiceContainer {
  entrypoint: string;
  args: string[];
  environment: string[];
  environmentFile: string;
  mounts: ServiceMount[];
  security: ServiceSecurity;
}
/** One `depends` entry; Go zero values for the kinds not set (`time: false` counts as not set). */
export interface ServiceDependency {
  service: string;
  path: string;
  network: NetworkStatus[];
  time: boolean;
  configuration: boolean;
}
export interface ServiceSpec {
  name: string;
  container: ServiceContainer;
  depends: ServiceDependency[];
  restart: RestartKind;
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

export const serviceSpecSchema = zeroIfNull(specFields).transform(
  (s): ServiceSpec => ({ ...s, restart: s.restart as RestartKind }),
);

export function decodeServiceSpec(doc: DecodedYaml): DecodeResult<ServiceSpec> {
  return decodeWithSchema(serviceSpecSchema, doc);
}
