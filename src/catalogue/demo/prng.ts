/** Seeded randomness, so the demo library comes out byte-identical on every machine. */

export type Random = () => number;

/** mulberry32: tiny, fast and good enough for music and pictures. Returns numbers in [0, 1). */
export function randomFrom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a: turns names into seeds, so a release keeps its sound and cover when the list is reordered. */
export function seedOf(...parts: (string | number)[]): number {
  let hash = 0x811c9dc5;
  for (const ch of parts.join('|')) {
    hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193);
  }
  return hash >>> 0;
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

export function between(random: Random, min: number, max: number): number {
  return min + random() * (max - min);
}
