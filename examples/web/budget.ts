// What the page may give the engine, read from the browser (kept apart from the engine: the page's main bundle).

/** The memory budget of a tab: the engine's at most 4 GiB, and half the device's memory where the browser says it. */
export function tabMemoryMiB(deviceMemoryGiB: number | undefined): number {
  const device = deviceMemoryGiB ? (deviceMemoryGiB * 1024) / 2 : 4096;
  return Math.max(256, Math.min(4096, Math.floor(device)));
}
