import { createRequire } from "node:module";

// Read at run time so the published binary reports the version it was released as.
const require = createRequire(import.meta.url);
export const VERSION: string = (require("../package.json") as { version: string }).version;
