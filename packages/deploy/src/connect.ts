/**
 * The client, with its failures as deploy errors: no talosctl, an unsupported version and a bad
 * talosconfig are DEPLOY_ codes at step `connect` like every other failure.
 */
import { createTalosctl, type Talosctl, type TalosctlOptions } from "@talos-ext/talosctl";
import { fromTalosctl } from "./errors.ts";

/** `createTalosctl` with its errors as `DeployError`s (step `connect`). */
export async function connect(options: TalosctlOptions = {}): Promise<Talosctl> {
  try {
    return await createTalosctl(options);
  } catch (e) {
    throw fromTalosctl(e, "connect", undefined, "cannot use talosctl");
  }
}
