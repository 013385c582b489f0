/**
 * Turns a genre and a seed into a song: a key, a tempo, a chord progression and an arrangement of
 * bars, each of which renders to PCM on its own. A pass of the progression always takes two bars:
 * a two-chord vamp changes chord every bar, a four-chord progression every half bar.
 */

import type { Genre } from './catalogue-plan.js';
import { FRAME_SAMPLES, MIN_BAR_FRAMES } from './encode.js';
import { between, pick, randomFrom, seedOf } from './prng.js';
import { STYLES, type Style } from './styles.js';
import { midiToHz, renderBar, SAMPLE_RATE, toPcm, type Drum, type Hit, type Note } from './synth.js';

export interface Song {
  style: Style;
  seed: number;
  /** MIDI note of the key's tonic, in the chords' octave. */
  tonic: number;
  /** Samples per bar: an even number of MP3 frames. */
  barLength: number;
  progression: readonly number[];
  /** Bar keys: 'intro' (half a bar), then 'groove:<0|1>' or 'lead:<0|1>' (which bar of the pass), then 'outro'. */
  arrangement: string[];
}

/** Rounds to whole MP3 frames, an even number (the intro is half a bar) and long enough for encode.ts. */
function barOf(samples: number): number {
  return 2 * Math.max(MIN_BAR_FRAMES, Math.round(samples / (2 * FRAME_SAMPLES))) * FRAME_SAMPLES;
}

/**
 * A song about `seconds` long. With a `timeScale` below 1 the same bars are played that much faster:
 * a short version for tests that costs as little to encode as it lasts.
 */
export function composeSong(genre: Genre, seed: number, seconds: number, timeScale = 1): Song {
  const random = randomFrom(seed);
  const style = STYLES[genre];
  const bpm = between(random, ...style.bpm);
  const fullBar = barOf((240 / bpm) * SAMPLE_RATE);
  const progression = pick(random, style.progressions);
  const tonic = 50 + Math.floor(random() * 8);
  const bars = Math.max(2, Math.round((seconds * SAMPLE_RATE) / fullBar));
  return { style, seed, tonic, barLength: barOf(fullBar * timeScale), progression, arrangement: arrange(progression.length === 2, bars) };
}

/**
 * A pickup opens the song and a fade closes it; between them come whole passes of the progression.
 * Four-chord songs carry the melody throughout; two-chord vamps alternate passes without and with it.
 */
function arrange(vamp: boolean, bars: number): string[] {
  const inner = bars - 2;
  const middle = inner >= 2 ? Math.round(inner / 2) * 2 : inner;
  const passes = Math.ceil(middle / 2);
  const section = (pass: number) => (!vamp || (passes - 1 - pass) % 2 === 0 ? 'lead' : 'groove');
  const body = Array.from({ length: middle }, (_, bar) => `${section(Math.floor(bar / 2))}:${bar % 2}`);
  return ['intro', ...body, 'outro'];
}

/**
 * The song's bars as PCM, one per arrangement entry; a repeated bar is the same array.
 *
 * Encoding costs time for each distinct bar and each distinct audio around one (encode.ts), so
 * bars are written to begin and end alike: the melody keeps off the bar lines, the intro ends as
 * every pass does and the outro begins as every pass does. A song then costs its distinct bars
 * plus one and a half, however it is arranged.
 */
export function songBars(song: Song): Int16Array[] {
  const rendered = new Map<string, Int16Array>();
  const bar = (key: string): Int16Array => {
    if (!rendered.has(key)) rendered.set(key, renderBarOf(song, key, bar));
    return rendered.get(key)!;
  };
  return song.arrangement.map(bar);
}

function renderBarOf(song: Song, key: string, bar: (key: string) => Int16Array): Int16Array {
  // The last two beats of a pass, so the first bar is heard after the same audio as in every pass.
  if (key === 'intro') return bar('groove:1').slice(song.barLength / 2);
  // The top of the progression, fading out after its first half beat.
  if (key === 'outro') return fadeOut(bar('lead:0'), song.barLength / 8);
  const [section, index] = key.split(':');
  const notes = [...chordPart(song, Number(index)), ...bassLine(song, Number(index))];
  if (section === 'lead') notes.push(...melody(song, Number(index)));
  return toPcm(renderBar(song.barLength, notes, drumHits(song), song.seed));
}

function fadeOut(pcm: Int16Array, hold: number): Int16Array {
  return pcm.map((v, i) => (i < hold ? v : Math.round(v * ((pcm.length - i) / (pcm.length - hold)) ** 2)));
}

const ARPEGGIO = [0, 2, 1, 2, 3, 2, 1, 2];

function sixteenth(song: Song): number {
  return song.barLength / 16;
}

/** Sample offset of a 16th-note step, with the off-beat 8ths swung late. */
function at(song: Song, step: number): number {
  const swing = step % 4 === 2 ? song.style.swing : 0;
  return Math.round((step + swing) * sixteenth(song));
}

function stepsOf(pattern: string): number[] {
  return [...pattern].flatMap((c, i) => (c === 'x' ? [i] : []));
}

/** Which chord of the progression sounds at a 16th-note step of the pass's bar 0 or 1. */
function chordAt(song: Song, bar: number, step: number): number {
  const perBar = song.progression.length / 2;
  return bar * perBar + Math.floor((step * perBar) / 16);
}

/** MIDI note of a scale degree (degrees past 6 climb octaves). */
function scaleNote(song: Song, degree: number): number {
  const { scale } = song.style;
  return song.tonic + scale[((degree % 7) + 7) % 7] + 12 * Math.floor(degree / 7);
}

/** Moves a note by octaves into [low, low + 12), so chords change with little movement. */
function fold(midi: number, low: number): number {
  return low + ((((midi - low) % 12) + 12) % 12);
}

function chordTones(song: Song, degree: number): number[] {
  const count = song.style.sevenths ? 4 : 3;
  return Array.from({ length: count }, (_, k) => fold(scaleNote(song, degree + 2 * k), song.tonic - 5));
}

function chordVoicing(song: Song, degree: number): number[] {
  const { chords } = song.style;
  const root = fold(scaleNote(song, degree), song.tonic - 5) + chords.octave;
  if (chords.shape === 'power') return [root, root + 7, root + 12];
  return chordTones(song, degree)
    .map((m) => m + chords.octave)
    .sort((a, b) => a - b);
}

function chordPart(song: Song, bar: number): Note[] {
  const { chords } = song.style;
  const length = chords.length * sixteenth(song);
  return stepsOf(chords.steps).flatMap((step, i) => {
    const tones = chordVoicing(song, song.progression[chordAt(song, bar, step)]);
    const played = chords.shape === 'arpeggio' ? [[...tones, tones[0] + 12][ARPEGGIO[i % ARPEGGIO.length]]] : tones;
    return played.map((midi) => ({ start: at(song, step), length, freq: midiToHz(midi), gain: chords.gain, voice: chords.voice }));
  });
}

/** The chord root in the bass register, [tonic - 29, tonic - 17). */
function bassRoot(song: Song, degree: number): number {
  return fold(scaleNote(song, degree), song.tonic - 29);
}

function bassLine(song: Song, bar: number): Note[] {
  const { bass } = song.style;
  const { progression } = song;
  const steps = stepsOf(bass.steps);
  return steps.map((step) => {
    const chord = chordAt(song, bar, step);
    const degree = progression[chord];
    const root = bassRoot(song, degree);
    const next = bassRoot(song, progression[(chord + 1) % progression.length]);
    const upTo = (k: number) => root + scaleNote(song, degree + k) - scaleNote(song, degree);
    // This note's place among the chord's notes: a walking line climbs the chord, then steps a
    // semitone into the next root; a fifths line alternates root and fifth.
    const mine = steps.filter((s) => chordAt(song, bar, s) === chord);
    const place = mine.indexOf(step);
    const walk = place === 0 ? root : place === mine.length - 1 ? (next > root ? next - 1 : next + 1) : upTo(2 * place);
    const midi = bass.line === 'walking' ? walk : bass.line === 'fifths' && place % 2 === 1 ? upTo(4) : root;
    return { start: at(song, step), length: bass.length * sixteenth(song), freq: midiToHz(midi), gain: bass.gain, voice: bass.voice };
  });
}

function drumHits(song: Song): Hit[] {
  return Object.entries(song.style.drums).flatMap(([drum, part]) =>
    stepsOf(part.steps).map((step) => ({ start: at(song, step), gain: part.gain, drum: drum as Drum })),
  );
}

/**
 * A random walk over the scale, landing on a chord tone mid-bar. Seeded per bar, so it repeats.
 * It sounds only from the third 16th to the last, so bars with and without it begin and end alike.
 */
function melody(song: Song, bar: number): Note[] {
  const random = randomFrom(seedOf(song.seed, 'melody', bar));
  const { lead } = song.style;
  const steps = stepsOf(lead.steps).filter((step) => step >= 2);
  const silentFrom = 15 * sixteenth(song) - lead.voice.release * SAMPLE_RATE;
  let pitch = song.progression[chordAt(song, bar, 0)] % 7;
  return steps.flatMap((step, i) => {
    if (random() < lead.rest) return [];
    pitch = Math.max(-2, Math.min(8, pitch + pick(random, [-2, -1, -1, 1, 1, 2])));
    if (step === 8) pitch = nearestChordTone(song.progression[chordAt(song, bar, step)], pitch);
    const start = at(song, step);
    const held = Math.min(Math.min((steps[i + 1] ?? 16) - step, lead.length) * sixteenth(song) * 0.9, silentFrom - start);
    if (held <= 0) return [];
    return [
      { start, length: held, freq: midiToHz(scaleNote(song, pitch) + 12), gain: lead.gain * between(random, 0.8, 1), voice: lead.voice },
    ];
  });
}

/** The root, third or fifth of the chord on `degree` (in any octave) closest to the scale degree `pitch`. */
function nearestChordTone(degree: number, pitch: number): number {
  const tones = [-7, 0, 7, 14].flatMap((octave) => [0, 2, 4].map((k) => ((degree + k) % 7) + octave));
  return tones.reduce((best, d) => (Math.abs(d - pitch) < Math.abs(best - pitch) ? d : best));
}
