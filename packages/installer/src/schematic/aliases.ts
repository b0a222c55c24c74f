/**
 * The factory's alias table for renamed official extensions, copied byte for byte from
 * image-factory `internal/profile/profile.go` `ExtensionNameAlias` (note the factory's
 * `nvidia-fabric-manager-lts` with a hyphen, while the real image is `nvidia-fabricmanager-lts`:
 * parity with the factory matters more than the fix). It maps *old schematic names*; node-side
 * manifest names equal image names at extensions HEAD.
 */
export const EXTENSION_NAME_ALIASES: Readonly<Record<string, string>> = Object.freeze({
  "siderolabs/v4l-uvc": "siderolabs/v4l-uvc-drivers",
  "siderolabs/usb-modem": "siderolabs/usb-modem-drivers",
  "siderolabs/gasket": "siderolabs/gasket-driver",
  "siderolabs/talos-vmtoolsd": "siderolabs/vmtoolsd-guest-agent",
  "siderolabs/xe-guest-utilities": "siderolabs/xen-guest-agent",
  "siderolabs/nvidia-container-toolkit": "siderolabs/nvidia-container-toolkit-lts",
  "siderolabs/nvidia-open-gpu-kernel-modules": "siderolabs/nvidia-open-gpu-kernel-modules-lts",
  "siderolabs/nonfree-kmod-nvidia": "siderolabs/nonfree-kmod-nvidia-lts",
  "siderolabs/nvidia-fabricmanager": "siderolabs/nvidia-fabric-manager-lts",
  "siderolabs/i915-ucode": "siderolabs/i915",
  "siderolabs/amdgpu-firmware": "siderolabs/amdgpu",
});

/** The factory's lookup: the alias target of a schematic name, if it has one. */
export function extensionNameAlias(name: string): string | undefined {
  return Object.hasOwn(EXTENSION_NAME_ALIASES, name) ? EXTENSION_NAME_ALIASES[name] : undefined;
}
