/**
 * Writes docs/cli.md from the built CLI's command definitions (build first): `pnpm gen:reference`.
 * A test fails when the committed file differs.
 */
import { renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
// @ts-expect-error -- the built bundle (scripts run after `build`, with plain Node)
import { COMMANDS, commandReference } from "../dist/index.js";

const target = fileURLToPath(new URL("../../../docs/cli.md", import.meta.url));
const temp = `${target}.${process.pid}.tmp`;
writeFileSync(temp, commandReference(COMMANDS));
renameSync(temp, target);
console.log(`wrote ${target}`);
