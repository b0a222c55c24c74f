import { describe, expect, it } from "vitest";
import { redact } from "./errors.ts";
import { parseEtcdStatus, parseServiceStatus, parseServiceTable, parseTable } from "./text-output.ts";

describe("text outputs", () => {
  it("cuts tables at the header's offsets, keeping cells with spaces whole", () => {
    const table =
      "NODE         SERVICE      STATE     HEALTH   LAST CHANGE   LAST EVENT\n" +
      "talos-cp-1   etcd         Running   Fail     13m24s ago    Health check failed: etcdserver: rpc not supported for learner\n" +
      "talos-cp-1   machined     Running   ?        13m40s ago    Service started as goroutine\n";
    expect(parseServiceTable(table)).toEqual([
      {
        node: "talos-cp-1",
        id: "etcd",
        state: "Running",
        health: "Fail",
        lastChange: "13m24s ago",
        lastEvent: "Health check failed: etcdserver: rpc not supported for learner",
      },
      {
        node: "talos-cp-1",
        id: "machined",
        state: "Running",
        health: "?",
        lastChange: "13m40s ago",
        lastEvent: "Service started as goroutine",
      },
    ]);
    expect(parseTable("")).toEqual({ columns: [], rows: [] });
  });

  it("reads the service status block with its events, newest first", () => {
    const block =
      "NODE     controlplane-0\nID       etcd\nSTATE    Running\nHEALTH   OK\n" +
      "EVENTS   [Running]: Health check successful (30m28s ago)\n" +
      '         [Waiting]: Waiting for service "cri" to be "up", service "networkd" to be "up" (30m33s ago)\n';
    expect(parseServiceStatus(block)).toEqual({
      node: "controlplane-0",
      id: "etcd",
      state: "Running",
      health: "OK",
      events: [
        { state: "Running", message: "Health check successful", ago: "30m28s" },
        {
          state: "Waiting",
          message: 'Waiting for service "cri" to be "up", service "networkd" to be "up"',
          ago: "30m33s",
        },
      ],
    });
    expect(parseServiceStatus("nothing here")).toBeUndefined();
  });

  it("reads etcd status rows with an empty ERRORS column", () => {
    const text =
      "NODE       MEMBER             DB SIZE   IN USE            LEADER             RAFT INDEX   RAFT TERM   RAFT APPLIED INDEX   LEARNER   ERRORS\n" +
      "10.5.0.2   21f3e09094edaf40   21 MB     9.5 MB (45.00%)   21f3e09094edaf40   1200         3           1200                 false     \n";
    expect(parseEtcdStatus(text)).toMatchObject({
      dbSize: "21 MB",
      dbSizeInUse: "9.5 MB",
      inUsePercent: 45,
      raftAppliedIndex: 1200,
      errors: [],
    });
  });

  it("redacts key material", () => {
    const pem =
      "-----BEGIN ED25519 PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIF\n-----END ED25519 PRIVATE KEY-----";
    const b64 = "A".repeat(80);
    expect(redact(`key ${pem} and ${b64}!`)).toBe("key [redacted] and [redacted]!");
  });
});
