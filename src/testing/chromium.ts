// Debian's Chromium for browser tests, benches and screenshots: the flags that keep it off the closed network.
export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Launch flags; `webgpu` adds the SwiftShader WebGPU adapter (--enable-unsafe-webgpu). */
export function chromiumArgs(o: { webgpu?: boolean } = {}): string[] {
  const args = [
    "--no-sandbox",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ];
  return o.webgpu ? [...args, "--enable-unsafe-webgpu"] : args;
}
