/**
 * MP3 encoding of loop-based music that encodes a repeated bar only once.
 *
 * LAME in JavaScript runs at ~40x real time: too slow to encode a whole library on first start.
 * But songs repeat their bars, and lamejs never uses the bit reservoir (asserted in the tests), so
 * a frame depends on the audio around it only through the filterbank overlap with its neighbours.
 * A bar encoded between its real neighbours can therefore be spliced in wherever it recurs between
 * the same audio: decoded with mpg123, such a song matches a straight encode to within LAME's own
 * coding noise. (Reusing a bar next to different audio is not safe: at a quiet join the mismatch is
 * heard as a click.) compose.ts writes music whose bars mostly begin and end alike, to reuse more.
 */

import lamejs from '@breezystack/lamejs';
import { audioFrames } from '../mp3/frames.js';
import { SAMPLE_RATE } from './synth.js';

/** Samples per MPEG-2 Layer III frame. */
export const FRAME_SAMPLES = 576;
/**
 * At 16 kHz, 40 kbps frames are exactly 180 bytes and never padded, so readers that estimate a CBR
 * file's duration from its first frame (music-metadata does) get it exactly.
 */
const KBPS = 40;
/**
 * LAME's output lags its input by 576 (look-ahead) + 529 (decoder filterbank) samples. Feeding
 * PRE_ROLL samples of context first makes the lag exactly LEAD_FRAMES frames, so frame LEAD_FRAMES
 * starts on the bar's first sample; and the context is long enough to cover the filterbank overlap.
 */
const LAME_DELAY = 1105;
const LEAD_FRAMES = 4;
const PRE_ROLL = LEAD_FRAMES * FRAME_SAMPLES - LAME_DELAY;
/**
 * Audio after the bar, so its last frames see what really follows. LAME looks ahead to choose each
 * frame's window shape, and with only 2 frames the abrupt end of the input that follows could turn
 * a bar's last window into a short-block start, which does not splice (heard as a click).
 */
const POST_ROLL = 4 * FRAME_SAMPLES;
/** The shortest bar that covers the context taken from it for its neighbours. */
export const MIN_BAR_FRAMES = Math.ceil(Math.max(PRE_ROLL, POST_ROLL) / FRAME_SAMPLES);

function encodePcm(pcm: Int16Array): Buffer {
  const encoder = new lamejs.Mp3Encoder(1, SAMPLE_RATE, KBPS);
  const parts = [encoder.encodeBuffer(pcm), encoder.flush()];
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/** Runs of consecutive numbers: [1, 2, 3, 7, 8] gives [[1, 2, 3], [7, 8]]. */
function runsOf(indices: number[]): number[][] {
  const runs: number[][] = [];
  for (const i of indices) {
    const run = runs.at(-1);
    if (run && run.at(-1) === i - 1) run.push(i);
    else runs.push([i]);
  }
  return runs;
}

/** The audio on either side of a bar that its frames depend on, as a map key. */
function contextId(before: Int16Array, after: Int16Array): string {
  const bytes = (samples: Int16Array) => Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength).toString('base64');
  return `${bytes(before)}|${bytes(after)}`;
}

/** Encodes a song given as its bars; a bar that recurs must be the same array each time. */
export function encodeBars(bars: Int16Array[]): Buffer {
  if (bars.some((bar) => bar.length % FRAME_SAMPLES !== 0 || bar.length < MIN_BAR_FRAMES * FRAME_SAMPLES)) {
    throw new Error(`bars must be a whole number of MP3 frames, at least ${MIN_BAR_FRAMES}`);
  }
  const before = bars.map((_, i) => bars[i - 1]?.subarray(-PRE_ROLL) ?? new Int16Array(PRE_ROLL));
  const after = bars.map((_, i) => bars[i + 1]?.subarray(0, POST_ROLL) ?? new Int16Array(POST_ROLL));
  // A bar heard between the same audio as before reuses its frames: they decode the same.
  const barIds = new Map(bars.map((bar, i) => [bar, i]));
  const firstInContext = new Map<string, number>();
  const source = bars.map((bar, i) => {
    const id = `${barIds.get(bar)}|${contextId(before[i], after[i])}`;
    if (!firstInContext.has(id)) firstInContext.set(id, i);
    return firstInContext.get(id)!;
  });
  // The others are encoded in runs of neighbouring bars, each run in one pass between its real neighbours.
  const frames: Buffer[][] = [];
  for (const run of runsOf(source.filter((from, i) => from === i))) {
    const input = concat([before[run[0]], ...run.map((i) => bars[i]), after[run[run.length - 1]]]);
    const runFrames = audioFrames(encodePcm(input));
    let next = LEAD_FRAMES;
    for (const i of run) {
      frames[i] = runFrames.slice(next, next + bars[i].length / FRAME_SAMPLES);
      next += bars[i].length / FRAME_SAMPLES;
    }
  }
  return Buffer.concat(source.flatMap((from) => frames[from]));
}

function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
