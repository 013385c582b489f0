/** How each genre sounds: tempo, harmony, instruments and rhythm patterns. */

import type { Genre } from './catalogue-plan.js';
import { wavetable, type Drum, type Voice } from './synth.js';

/** One instrument's part. `steps` has 16 characters, one per 16th note; 'x' plays. */
interface Part {
  voice: Voice;
  gain: number;
  steps: string;
  /** Held length of each note, in 16ths. */
  length: number;
}

export interface Style {
  bpm: [min: number, max: number];
  /** Semitones of the scale's 7 degrees above the tonic. */
  scale: readonly number[];
  /** Chord roots as scale degrees: two chords (a bar each) or four (half a bar each). */
  progressions: readonly (readonly number[])[];
  sevenths: boolean;
  /** How late the off-beat 8ths fall, as a fraction of a 16th. */
  swing: number;
  chords: Part & { octave: number; shape: 'chord' | 'power' | 'arpeggio' };
  bass: Part & { line: 'root' | 'fifths' | 'walking' };
  drums: Partial<Record<Drum, { steps: string; gain: number }>>;
  /** The melody may start a note on each 'x' of `steps` and rests with probability `rest`. */
  lead: Part & { rest: number };
}

const MAJOR = [0, 2, 4, 5, 7, 9, 11];
const MINOR = [0, 2, 3, 5, 7, 8, 10];
const DORIAN = [0, 2, 3, 5, 7, 9, 10];

const SINE = wavetable([1]);
const SOFT = wavetable([1, 0.3, 0.1]);
const SAW = wavetable([1, 1 / 2, 1 / 3, 1 / 4, 1 / 5, 1 / 6, 1 / 7, 1 / 8]);
const SQUARE = wavetable([1, 0, 1 / 3, 0, 1 / 5, 0, 1 / 7]);
const PLUCK = wavetable([1, 0.7, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15]);
const BELL = wavetable([1, 0, 0, 0.5, 0, 0, 0.2]);
const TINE = wavetable([1, 0.5, 0.1, 0.3]);

const SUSTAINED = { brightness: 1e6, decay: 1, sustain: 0.8 };

const EIGHTHS = 'x.x.x.x.x.x.x.x.';
const QUARTERS = 'x...x...x...x...';
const BACKBEAT = '....x.......x...';
const OFFBEATS = '..x...x...x...x.';
const WHOLE = 'x...............';

export const STYLES: Record<Genre, Style> = {
  Electronic: {
    bpm: [118, 128],
    scale: MINOR,
    progressions: [
      [0, 5, 2, 6],
      [0, 3, 6, 5],
      [0, 6, 5, 6],
    ],
    sevenths: false,
    swing: 0,
    chords: {
      voice: { bright: SAW, dull: SAW, brightness: 1e6, attack: 0.03, decay: 0.4, sustain: 0.6, release: 0.12, detune: 0.006 },
      gain: 0.12,
      steps: 'x.......x.......',
      length: 7,
      octave: 0,
      shape: 'chord',
    },
    bass: {
      voice: { bright: SQUARE, dull: SOFT, brightness: 0.08, attack: 0.005, decay: 0.15, sustain: 0.3, release: 0.03 },
      gain: 0.4,
      steps: OFFBEATS,
      length: 2,
      line: 'root',
    },
    drums: { kick: { steps: QUARTERS, gain: 0.9 }, clap: { steps: BACKBEAT, gain: 0.4 }, hat: { steps: OFFBEATS, gain: 0.3 } },
    lead: {
      voice: { bright: SAW, dull: SINE, brightness: 0.08, attack: 0.003, decay: 0.25, sustain: 0, release: 0.05 },
      gain: 0.25,
      steps: 'x.xx.x.x..x.x.x.',
      length: 2,
      rest: 0.25,
    },
  },
  Jazz: {
    bpm: [104, 126],
    scale: MAJOR,
    progressions: [
      [1, 4, 0, 5],
      [0, 5, 1, 4],
      [3, 4, 2, 5],
    ],
    sevenths: true,
    swing: 0.33,
    chords: {
      voice: { bright: PLUCK, dull: SOFT, brightness: 0.2, attack: 0.004, decay: 0.5, sustain: 0.15, release: 0.1 },
      gain: 0.1,
      steps: 'x.....x.x.....x.',
      length: 3,
      octave: 0,
      shape: 'chord',
    },
    bass: {
      voice: { bright: SOFT, dull: SINE, brightness: 0.1, attack: 0.01, decay: 0.3, sustain: 0.35, release: 0.05 },
      gain: 0.45,
      steps: QUARTERS,
      length: 3,
      line: 'walking',
    },
    drums: {
      ride: { steps: 'x...x.x.x...x.x.', gain: 0.14 },
      hat: { steps: BACKBEAT, gain: 0.1 },
      kick: { steps: 'x.......x.......', gain: 0.25 },
    },
    lead: {
      voice: { bright: BELL, dull: SINE, brightness: 0.3, attack: 0.005, decay: 0.8, sustain: 0.2, release: 0.15 },
      gain: 0.25,
      steps: EIGHTHS,
      length: 2,
      rest: 0.4,
    },
  },
  Rock: {
    bpm: [124, 140],
    scale: MAJOR,
    progressions: [
      [0, 4, 5, 3],
      [0, 3, 4, 3],
      [5, 3, 0, 4],
    ],
    sevenths: false,
    swing: 0,
    chords: {
      voice: { bright: SAW, dull: SAW, brightness: 1e6, attack: 0.005, decay: 0.3, sustain: 0.7, release: 0.03, drive: 4 },
      gain: 0.1,
      steps: EIGHTHS,
      length: 2,
      octave: -12,
      shape: 'power',
    },
    bass: {
      voice: { bright: SQUARE, dull: SOFT, brightness: 0.05, attack: 0.005, decay: 0.2, sustain: 0.5, release: 0.03 },
      gain: 0.3,
      steps: EIGHTHS,
      length: 2,
      line: 'root',
    },
    drums: { kick: { steps: 'x.....x.x.......', gain: 0.9 }, snare: { steps: BACKBEAT, gain: 0.6 }, hat: { steps: EIGHTHS, gain: 0.2 } },
    lead: {
      voice: {
        bright: SAW,
        dull: SQUARE,
        brightness: 0.2,
        attack: 0.01,
        decay: 0.3,
        sustain: 0.6,
        release: 0.08,
        vibrato: 0.006,
        drive: 2,
      },
      gain: 0.16,
      steps: 'x...x.x.x...x.x.',
      length: 2,
      rest: 0.2,
    },
  },
  Ambient: {
    bpm: [76, 86],
    scale: MAJOR,
    progressions: [
      [0, 3],
      [0, 5],
      [3, 0],
    ],
    sevenths: true,
    swing: 0,
    chords: {
      voice: { bright: SOFT, dull: SOFT, ...SUSTAINED, attack: 0.6, release: 0.7, detune: 0.005 },
      gain: 0.12,
      steps: WHOLE,
      length: 16,
      octave: 0,
      shape: 'chord',
    },
    bass: {
      voice: { bright: SINE, dull: SINE, ...SUSTAINED, attack: 0.3, release: 0.5 },
      gain: 0.3,
      steps: WHOLE,
      length: 16,
      line: 'root',
    },
    drums: { shaker: { steps: OFFBEATS, gain: 0.08 } },
    lead: {
      voice: { bright: BELL, dull: SINE, brightness: 0.5, attack: 0.005, decay: 1.2, sustain: 0, release: 0.3 },
      gain: 0.22,
      steps: QUARTERS,
      length: 4,
      rest: 0.45,
    },
  },
  'Hip-Hop': {
    bpm: [84, 94],
    scale: DORIAN,
    progressions: [
      [0, 3],
      [0, 5],
      [0, 6, 5, 3],
    ],
    sevenths: true,
    swing: 0.25,
    chords: {
      voice: { bright: TINE, dull: SOFT, brightness: 0.25, attack: 0.005, decay: 1.2, sustain: 0.3, release: 0.15 },
      gain: 0.1,
      steps: 'x.........x.....',
      length: 8,
      octave: 0,
      shape: 'chord',
    },
    bass: {
      voice: { bright: SOFT, dull: SINE, brightness: 0.05, attack: 0.01, decay: 0.4, sustain: 0.6, release: 0.06 },
      gain: 0.45,
      steps: 'x......x..x.....',
      length: 3,
      line: 'root',
    },
    drums: { kick: { steps: 'x......x..x.....', gain: 0.95 }, snare: { steps: BACKBEAT, gain: 0.6 }, hat: { steps: EIGHTHS, gain: 0.16 } },
    lead: {
      voice: { bright: SOFT, dull: SOFT, brightness: 1e6, attack: 0.04, decay: 0.3, sustain: 0.7, release: 0.1, vibrato: 0.005 },
      gain: 0.18,
      steps: 'x...x.x.....x...',
      length: 3,
      rest: 0.35,
    },
  },
  Folk: {
    bpm: [96, 112],
    scale: MAJOR,
    progressions: [
      [0, 3, 0, 4],
      [0, 5, 3, 4],
      [0, 4, 5, 3],
    ],
    sevenths: false,
    swing: 0,
    chords: {
      voice: { bright: PLUCK, dull: SOFT, brightness: 0.12, attack: 0.002, decay: 0.6, sustain: 0, release: 0.1 },
      gain: 0.2,
      steps: EIGHTHS,
      length: 4,
      octave: 0,
      shape: 'arpeggio',
    },
    bass: {
      voice: { bright: SOFT, dull: SINE, brightness: 0.1, attack: 0.005, decay: 0.5, sustain: 0.2, release: 0.08 },
      gain: 0.35,
      steps: 'x.......x.......',
      length: 6,
      line: 'fifths',
    },
    drums: {
      shaker: { steps: EIGHTHS, gain: 0.08 },
      kick: { steps: 'x.......x.......', gain: 0.35 },
      clap: { steps: BACKBEAT, gain: 0.15 },
    },
    lead: {
      voice: { bright: SINE, dull: SINE, ...SUSTAINED, attack: 0.05, decay: 0.3, release: 0.1, vibrato: 0.008 },
      gain: 0.2,
      steps: 'x.x.x...x.x.x...',
      length: 2,
      rest: 0.3,
    },
  },
};
