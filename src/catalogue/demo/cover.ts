/** Abstract cover art: a seeded palette and one of a few generative designs, as a PNG. */

import { PNG } from 'pngjs';
import { pick, randomFrom, type Random } from './prng.js';

type Rgb = [number, number, number];
/** Colour of the point (x, y), both in [0, 1) from the top left. */
type Painter = (x: number, y: number) => Rgb;

const COVER_SIZE = 500;

function hsl(hue: number, saturation: number, lightness: number): Rgb {
  const f = (n: number) => {
    const k = (n + hue / 30) % 12;
    const a = saturation * Math.min(lightness, 1 - lightness);
    return 255 * (lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1)));
  };
  return [f(0), f(8), f(4)];
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** 0 below `edge - width`, 1 above `edge + width`, smooth between: anti-aliased shape edges. */
function smoothstep(edge: number, width: number, x: number): number {
  const t = Math.max(0, Math.min(1, (x - edge + width) / (2 * width)));
  return t * t * (3 - 2 * t);
}

/** Five colours from one harmony (analogous, complementary or triadic) on `hue`, dark to light. */
function palette(random: Random, hue: number): Rgb[] {
  const offsets = pick(random, [
    [0, 25, 50],
    [0, 180, 30],
    [0, 120, 240],
  ]);
  const saturation = 0.55 + random() * 0.35;
  return [
    hsl(hue + offsets[0], saturation, 0.12),
    hsl(hue + offsets[1], saturation, 0.3),
    hsl(hue + offsets[0], saturation, 0.5),
    hsl(hue + offsets[2], saturation, 0.62),
    hsl(hue + offsets[1], saturation * 0.8, 0.82),
  ];
}

/** A diagonal gradient across the two darkest colours. */
function background(random: Random, colours: Rgb[]): Painter {
  const angle = random() * 2 * Math.PI;
  const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
  return (x, y) => mix(colours[0], colours[1], Math.max(0, Math.min(1, 0.5 + (x - 0.5) * dx + (y - 0.5) * dy)));
}

/** Soft glowing discs drifting over the gradient. */
function orbs(random: Random, colours: Rgb[]): Painter {
  const base = background(random, colours);
  const discs = Array.from({ length: 4 + Math.floor(random() * 4) }, () => ({
    x: random(),
    y: random(),
    r: 0.08 + random() * 0.25,
    colour: colours[2 + Math.floor(random() * 3)],
    opacity: 0.45 + random() * 0.45,
  }));
  return (x, y) => {
    let colour = base(x, y);
    for (const d of discs) {
      const inside = 1 - smoothstep(d.r, 0.003 + d.r * 0.15, Math.hypot(x - d.x, y - d.y));
      if (inside > 0) colour = mix(colour, d.colour, inside * d.opacity);
    }
    return colour;
  };
}

/** Concentric bands around an off-centre point, fading out towards the edges. */
function rings(random: Random, colours: Rgb[]): Painter {
  const base = background(random, colours);
  const [cx, cy] = [0.2 + random() * 0.6, 0.2 + random() * 0.6];
  const spacing = 0.04 + random() * 0.06;
  return (x, y) => {
    const distance = Math.hypot(x - cx, y - cy);
    const band = Math.floor(distance / spacing);
    const inBand = distance / spacing - band;
    const pixel = 0.002 / spacing; // one pixel, in band widths
    const edge = smoothstep(0.5, pixel, inBand) * (1 - smoothstep(0.95, pixel, inBand));
    const colour = colours[2 + (band % 3)];
    return mix(base(x, y), colour, edge * Math.max(0, 1 - distance * 1.1));
  };
}

/** Layered hills against a sky with a low sun, like a landscape print. */
function hills(random: Random, colours: Rgb[]): Painter {
  const sun = { x: 0.25 + random() * 0.5, y: 0.3 + random() * 0.2, r: 0.12 + random() * 0.08 };
  const layers = Array.from({ length: 4 }, (_, i) => ({
    height: 0.5 + i * 0.12,
    amplitude: 0.03 + random() * 0.06,
    frequency: 2 + random() * 6,
    phase: random() * 2 * Math.PI,
    colour: mix(colours[3 - i], colours[0], i / 4), // darker towards the front
  }));
  return (x, y) => {
    const sky = mix(colours[4], colours[2], y);
    const sunLit = 1 - smoothstep(sun.r, 0.004, Math.hypot(x - sun.x, y - sun.y));
    let colour = mix(sky, colours[4], sunLit * 0.9);
    for (const layer of layers) {
      const ridge = layer.height + layer.amplitude * Math.sin(layer.frequency * x + layer.phase);
      colour = mix(colour, layer.colour, smoothstep(ridge, 0.003, y));
    }
    return colour;
  };
}

/** Bold diagonal bands, each with a sheen across it. */
function stripes(random: Random, colours: Rgb[]): Painter {
  const angle = (0.15 + random() * 0.2) * Math.PI;
  const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
  const widths = Array.from({ length: 7 }, () => 0.08 + random() * 0.2);
  const total = widths.reduce((a, b) => a + b);
  return (x, y) => {
    let along = (((x * dx + y * dy) % total) + total) % total;
    let band = 0;
    while (band < widths.length - 1 && along > widths[band]) along -= widths[band++];
    const sheen = along / widths[band];
    const colour = colours[1 + (band % 4)];
    return mix(colour, colours[0], 0.35 * sheen + 0.25 * smoothstep(0.5, 0.5, y));
  };
}

function encodePng(size: number, painter: Painter): Buffer {
  const png = new PNG({ width: size, height: size });
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const rgb = painter(x / size, y / size);
      const at = (y * size + x) * 4;
      png.data[at] = rgb[0];
      png.data[at + 1] = rgb[1];
      png.data[at + 2] = rgb[2];
      png.data[at + 3] = 255;
    }
  }
  // RGB without alpha, and one fixed filter (Paeth suits gradients): smaller and much faster than the defaults.
  return PNG.sync.write(png, { colorType: 2, filterType: 4, deflateLevel: 6 });
}

const DESIGNS = [orbs, rings, hills, stripes];

/**
 * A square PNG cover, the same for the same seed. Consecutive `variant`s (a release's place in the
 * library) get different designs and hues 108° apart, so ten in a row all look different.
 */
export function coverPng(seed: number, variant: number): Buffer {
  const random = randomFrom(seed);
  const colours = palette(random, (variant * 108) % 360);
  const design = DESIGNS[variant % DESIGNS.length];
  return encodePng(COVER_SIZE, design(random, colours));
}
