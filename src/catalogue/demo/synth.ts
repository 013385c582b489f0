/**
 * A tiny synthesiser: wavetable voices and noise drums mixed into one bar of mono audio.
 * Bars are rendered on their own (see encode.ts), so everything fades out before the bar line.
 */

import { randomFrom } from './prng.js';

/** 16 kHz mono (MPEG-2 when encoded): cheap to synthesise and encode, and ample for these timbres. */
export const SAMPLE_RATE = 16000;

const TABLE_SIZE = 2048;

/** One cycle of a waveform made of harmonics (amplitudes of partials 1, 2, 3...), peak 1. */
export function wavetable(harmonics: readonly number[]): Float32Array {
  // One guard sample past the end lets interpolation skip a bounds check.
  const table = new Float32Array(TABLE_SIZE + 1);
  for (let i = 0; i <= TABLE_SIZE; i++) {
    const x = (2 * Math.PI * i) / TABLE_SIZE;
    table[i] = harmonics.reduce((sum, amp, h) => sum + amp * Math.sin((h + 1) * x), 0);
  }
  const peak = table.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
  return table.map((v) => v / peak);
}

export interface Voice {
  /** Timbre at the attack, fading into `dull` over `brightness` seconds, as a plucked string does. */
  bright: Float32Array;
  dull: Float32Array;
  brightness: number;
  /** Envelope: seconds, and the sustain level (0-1). */
  attack: number;
  decay: number;
  sustain: number;
  release: number;
  /** Optional colour: a second oscillator this far out of tune, vibrato depth, overdrive gain. */
  detune?: number;
  vibrato?: number;
  drive?: number;
}

export interface Note {
  /** Start and held length in samples; the release follows. */
  start: number;
  length: number;
  freq: number;
  gain: number;
  voice: Voice;
}

export type Drum = 'kick' | 'snare' | 'clap' | 'hat' | 'ride' | 'shaker';

export interface Hit {
  start: number;
  gain: number;
  drum: Drum;
}

export function midiToHz(midi: number): number {
  return 440 * 2 ** ((midi - 69) / 12);
}

function lookup(table: Float32Array, phase: number): number {
  const i = phase | 0;
  return table[i] + (table[i + 1] - table[i]) * (phase - i);
}

const SINE = wavetable([1]);
const LFO_STEP = (5 * TABLE_SIZE) / SAMPLE_RATE;

/** A rational tanh (Padé), close enough for saturation and far cheaper than Math.tanh per sample. */
function softClip(x: number): number {
  if (x <= -3) return -1;
  if (x >= 3) return 1;
  return (x * (27 + x * x)) / (27 + 9 * x * x);
}

/** Per-sample gain: a linear attack, an exponential decay to the sustain level, then a linear release. */
function envelope(voice: Voice, held: number, total: number): Float32Array {
  const env = new Float32Array(total);
  const attack = Math.max(1, voice.attack * SAMPLE_RATE);
  const fall = Math.exp(-1 / Math.max(1, voice.decay * SAMPLE_RATE));
  let excess = 1 - voice.sustain;
  for (let i = 0; i < held; i++) {
    env[i] = (voice.sustain + excess) * Math.min(1, i / attack);
    if (i >= attack) excess *= fall;
  }
  const off = held > 0 ? env[held - 1] : 0;
  for (let i = held; i < total; i++) env[i] = (off * (total - i)) / (total - held);
  return env;
}

function addNote(out: Float32Array, note: Note): void {
  const { voice } = note;
  const release = Math.round(voice.release * SAMPLE_RATE);
  // Bars are rendered apart, so a note is cut short for its release to end by the bar line.
  const held = Math.round(Math.max(0, Math.min(note.length, out.length - note.start - release)));
  const env = envelope(voice, held, Math.max(0, Math.min(held + release, out.length - note.start)));
  const step = (note.freq * TABLE_SIZE) / SAMPLE_RATE;
  const detuned = step * (1 + (voice.detune ?? 0));
  const fade = Math.exp(-1 / (voice.brightness * SAMPLE_RATE));
  const vibrato = voice.vibrato ?? 0;
  const drive = voice.drive ?? 0;
  const driveNorm = drive ? softClip(drive) : 1;
  const crossfade = voice.bright !== voice.dull;
  let [phase, phase2, lfo, bright] = [0, TABLE_SIZE / 3, 0, 1];
  for (let i = 0; i < env.length; i++) {
    let s =
      crossfade && bright > 1e-3
        ? lookup(voice.bright, phase) * bright + lookup(voice.dull, phase) * (1 - bright)
        : lookup(voice.dull, phase);
    if (voice.detune) s = 0.5 * (s + lookup(voice.dull, phase2));
    if (drive) s = softClip(drive * s) / driveNorm;
    out[note.start + i] += s * env[i] * note.gain;
    const wobble = vibrato ? 1 + vibrato * lookup(SINE, lfo) : 1; // a 5 Hz vibrato
    // Wrapping by subtraction: a float % is several times slower here.
    phase += step * wobble;
    if (phase >= TABLE_SIZE) phase -= TABLE_SIZE;
    phase2 += detuned * wobble;
    if (phase2 >= TABLE_SIZE) phase2 -= TABLE_SIZE;
    lfo += LFO_STEP;
    if (lfo >= TABLE_SIZE) lfo -= TABLE_SIZE;
    bright *= fade;
  }
}

/** Seconds each drum rings for, and how it is made: a falling sine, filtered noise, or both. */
const DRUMS: Record<Drum, { seconds: number; tone: number; noise: number; decay: number; toneDecay: number; brightNoise: boolean }> = {
  kick: { seconds: 0.35, tone: 1, noise: 0.05, decay: 0.12, toneDecay: 0.12, brightNoise: false },
  snare: { seconds: 0.25, tone: 0.35, noise: 0.7, decay: 0.07, toneDecay: 0.05, brightNoise: true },
  clap: { seconds: 0.2, tone: 0, noise: 0.8, decay: 0.05, toneDecay: 1, brightNoise: false },
  hat: { seconds: 0.08, tone: 0, noise: 0.5, decay: 0.018, toneDecay: 1, brightNoise: true },
  ride: { seconds: 0.3, tone: 0, noise: 0.35, decay: 0.12, toneDecay: 1, brightNoise: true },
  shaker: { seconds: 0.1, tone: 0, noise: 0.3, decay: 0.03, toneDecay: 1, brightNoise: true },
};

function addHit(out: Float32Array, hit: Hit, seed: number): void {
  const drum = DRUMS[hit.drum];
  const noise = randomFrom(seed ^ hit.start);
  const length = Math.min(Math.round(drum.seconds * SAMPLE_RATE), out.length - hit.start);
  const toneFall = Math.exp(-1 / (drum.toneDecay * SAMPLE_RATE));
  const noiseFall = Math.exp(-1 / (drum.decay * SAMPLE_RATE));
  // The kick's pitch drops from 160 Hz to 45 Hz within ~0.1 s; the snare's body stays at 190 Hz.
  const sweepFall = Math.exp(-1 / (0.03 * SAMPLE_RATE));
  const [low, sweepDepth] = hit.drum === 'kick' ? [45, 115] : [190, 0];
  let [phase, sweep, toneEnv, noiseEnv, last, smooth] = [0, 1, drum.tone, drum.noise, 0, 0];
  for (let i = 0; i < length; i++) {
    const white = noise() * 2 - 1;
    // Differencing white noise tilts it bright (hats); a one-pole average makes it darker (claps).
    smooth += 0.3 * (white - smooth);
    const shaped = drum.brightNoise ? white - last : smooth;
    last = white;
    const attack = hit.drum === 'shaker' ? Math.min(1, i / 160) : 1;
    out[hit.start + i] += hit.gain * attack * (toneEnv * lookup(SINE, phase) + noiseEnv * shaped);
    phase += ((low + sweepDepth * sweep) * TABLE_SIZE) / SAMPLE_RATE;
    if (phase >= TABLE_SIZE) phase -= TABLE_SIZE;
    sweep *= sweepFall;
    toneEnv *= toneFall;
    noiseEnv *= noiseFall;
  }
}

/** Mixes notes and drum hits into a bar `length` samples long. */
export function renderBar(length: number, notes: Note[], hits: Hit[], seed: number): Float32Array {
  const out = new Float32Array(length);
  for (const note of notes) addNote(out, note);
  for (const hit of hits) addHit(out, hit, seed);
  // Drum tails cut at the bar line would click, so the last 4 ms fade out.
  const fade = Math.min(length, 64);
  for (let i = 0; i < fade; i++) out[length - 1 - i] *= i / fade;
  return out;
}

/** 16-bit samples, through a soft clipper so loud moments saturate instead of wrapping. */
export function toPcm(mix: Float32Array): Int16Array {
  const pcm = new Int16Array(mix.length);
  for (let i = 0; i < mix.length; i++) pcm[i] = Math.round(32000 * softClip(mix[i]));
  return pcm;
}
