import lamejs from '@breezystack/lamejs';
import { parseBuffer } from 'music-metadata';
import NodeID3 from 'node-id3';
import { beforeAll, describe, expect, it } from 'vitest';
import { audioFrames, cutPreview, NotMp3Error, scanMp3 } from '../../src/catalogue/mp3/frames.js';

/** LAME delays the sound by 576 (look-ahead) + 529 (decoder filterbank) samples, then pads the last frame. */
const LAME_DELAY = 1105;

function pcm(seconds: number, sampleRate: number, freq: number): Int16Array {
  const out = new Int16Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < out.length; i++) {
    const t = i / sampleRate;
    const swell = 0.6 + 0.4 * Math.sin(2 * Math.PI * 0.5 * t);
    out[i] = 9000 * swell * (Math.sin(2 * Math.PI * freq * t) + 0.3 * Math.sin(2 * Math.PI * 3 * freq * t));
  }
  return out;
}

function encode(channels: 1 | 2, sampleRate: number, kbps: number, seconds: number): Buffer {
  const encoder = new lamejs.Mp3Encoder(channels, sampleRate, kbps);
  const left = pcm(seconds, sampleRate, 220);
  const parts = channels === 1 ? [encoder.encodeBuffer(left)] : [encoder.encodeBuffer(left, pcm(seconds, sampleRate, 330))];
  parts.push(encoder.flush());
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/** Deterministic junk, so a test can never fail by chance. */
function junk(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    out[i] = seed >>> 24;
  }
  return out;
}

function syncsafe(n: number): Buffer {
  return Buffer.from([(n >> 21) & 0x7f, (n >> 14) & 0x7f, (n >> 7) & 0x7f, n & 0x7f]);
}

const MONO_SECONDS = 40;
const MONO_RATE = 22050;
const MONO_FRAME = 576 / MONO_RATE;

let mono: Buffer; // MPEG-2, 48 kbps, padded frames of 156 or 157 bytes
let stereo: Buffer; // MPEG-1, 128 kbps
let tagged: Buffer;

beforeAll(() => {
  mono = encode(1, MONO_RATE, 48, MONO_SECONDS);
  stereo = encode(2, 44100, 128, 8);
  // The "cover" is a run of stereo frames: if the scanner looked inside the tag, it would lock onto them.
  const image = { mime: 'image/png', type: { id: 3 }, description: 'front', imageBuffer: stereo.subarray(0, 4000) };
  tagged = NodeID3.write({ title: 'Test Tone', artist: 'Lab', image }, mono);
});

describe('scanMp3', () => {
  it('measures a tagged MPEG-2 mono file', () => {
    const info = scanMp3(tagged);
    expect(info).toMatchObject({ sampleRate: 22050, channels: 1, bitrateKbps: 48, audioEnd: tagged.length });
    expect(info.audioStart).toBe(tagged.length - mono.length);
    const truth = MONO_SECONDS + LAME_DELAY / MONO_RATE;
    expect(Math.abs(info.durationSeconds - truth)).toBeLessThan(MONO_FRAME);
    expect(info.frameCount).toBe(Math.round(info.durationSeconds / MONO_FRAME));
  });

  it('measures an MPEG-1 stereo file', () => {
    const info = scanMp3(stereo);
    expect(info).toMatchObject({ sampleRate: 44100, channels: 2, bitrateKbps: 128, audioStart: 0, audioEnd: stereo.length });
    expect(Math.abs(info.durationSeconds - (8 + LAME_DELAY / 44100))).toBeLessThan(1152 / 44100);
  });

  it('honours the ID3v2 footer flag', () => {
    const body = stereo.subarray(0, 3000);
    const header = Buffer.concat([Buffer.from('ID3\x04\x00\x10', 'latin1'), syncsafe(body.length)]);
    const footer = Buffer.concat([Buffer.from('3DI\x04\x00\x10', 'latin1'), syncsafe(body.length)]);
    const info = scanMp3(Buffer.concat([header, body, footer, mono]));
    expect(info.audioStart).toBe(10 + body.length + 10);
    expect(info.channels).toBe(1);
  });

  it('ignores ID3v1 and APEv2 trailers', () => {
    // An APEv2 item holding MPEG frames, then the 32-byte footer (size counts items + footer), then ID3v1.
    const item = stereo.subarray(0, 3000);
    const apeFooter = Buffer.alloc(32);
    apeFooter.write('APETAGEX', 0, 'latin1');
    apeFooter.writeUInt32LE(2000, 8);
    apeFooter.writeUInt32LE(item.length + 32, 12);
    const id3v1 = Buffer.concat([Buffer.from('TAG', 'latin1'), Buffer.alloc(125, 0x20)]);
    const info = scanMp3(Buffer.concat([mono, item, apeFooter, id3v1]));
    expect(info.audioEnd).toBe(mono.length);
    expect(info.frameCount).toBe(scanMp3(mono).frameCount);
  });

  it('keeps but does not count a Xing/Info header frame', () => {
    const first = audioFrames(mono)[0];
    const infoFrame = Buffer.alloc(first.length);
    first.copy(infoFrame, 0, 0, 4);
    infoFrame.write('Info', 4 + 9, 'latin1'); // after the 9 bytes of MPEG-2 mono side info
    const info = scanMp3(Buffer.concat([infoFrame, mono]));
    expect(info.audioStart).toBe(0);
    expect(info.frameCount).toBe(scanMp3(mono).frameCount);
  });

  it('averages the bitrate of a VBR stream', () => {
    const low = encode(1, MONO_RATE, 32, 2);
    const high = encode(1, MONO_RATE, 64, 2);
    const [a, b] = [scanMp3(low).frameCount, scanMp3(high).frameCount];
    const info = scanMp3(Buffer.concat([low, high]));
    expect(info.frameCount).toBe(a + b);
    expect(info.bitrateKbps).toBe(Math.round((32 * a + 64 * b) / (a + b)));
  });

  it('resyncs over junk between frames', () => {
    const frames = audioFrames(mono);
    const half = Math.floor(frames.length / 2);
    const withJunk = Buffer.concat([...frames.slice(0, half), junk(5000, 42), ...frames.slice(half)]);
    expect(scanMp3(withJunk).frameCount).toBe(frames.length);
  });

  it('drops a last frame cut short', () => {
    const whole = scanMp3(mono);
    const cut = scanMp3(mono.subarray(0, mono.length - 50));
    expect(cut.frameCount).toBe(whole.frameCount - 1);
    expect(cut.audioEnd).toBeLessThanOrEqual(mono.length - 50);
  });

  it.each([
    ['random bytes', () => junk(64 * 1024, 7)],
    ['a text file', () => Buffer.from('This is a README, renamed to song.mp3.\n'.repeat(400))],
    ['an empty file', () => Buffer.alloc(0)],
    ['an ID3 tag alone', () => NodeID3.create({ title: 'nothing else' })],
    ['a lone frame header', () => mono.subarray(0, 40)],
  ])('rejects %s', (_name, make) => {
    expect(() => scanMp3(make())).toThrow(NotMp3Error);
  });
});

describe('cutPreview', () => {
  it('cuts ~30 s of whole frames that scan as a bare stream', () => {
    const preview = cutPreview(tagged, 5, 30);
    const info = scanMp3(preview);
    expect(info).toMatchObject({ audioStart: 0, audioEnd: preview.length, sampleRate: 22050, channels: 1 });
    expect(info.durationSeconds).toBeGreaterThanOrEqual(30);
    expect(info.durationSeconds).toBeLessThan(30 + 2 * MONO_FRAME);
    const startFrame = Math.floor(5 / MONO_FRAME);
    const frames = audioFrames(mono);
    expect(preview.subarray(0, frames[startFrame].length).equals(frames[startFrame])).toBe(true);
  });

  it('produces a stream music-metadata reads with the same duration', async () => {
    const preview = cutPreview(tagged, 5, 30);
    // duration: true makes music-metadata walk the frames rather than extrapolate from the first
    // one (156 or 157 bytes here, a 0.5% error); its walk may still miss or add a frame or two.
    const { format } = await parseBuffer(preview, { mimeType: 'audio/mpeg' }, { duration: true });
    expect(format).toMatchObject({ codec: 'MPEG 2 Layer 3', sampleRate: 22050, numberOfChannels: 1 });
    expect(Math.abs(format.duration! - scanMp3(preview).durationSeconds)).toBeLessThan(0.1);
  });

  it('slides the window back when the track ends too soon', () => {
    const preview = cutPreview(mono, 35, 30);
    expect(scanMp3(preview).durationSeconds).toBeGreaterThanOrEqual(30 - MONO_FRAME);
    expect(mono.subarray(mono.length - preview.length).equals(preview)).toBe(true);
  });

  it('returns a short track whole', () => {
    expect(cutPreview(stereo, 0, 30).equals(stereo)).toBe(true);
  });

  it('starts early enough for the bit reservoir', () => {
    // lamejs never borrows from the reservoir, so make the first cut frame borrow 200 bytes;
    // each earlier frame holds 156 - 4 - 9 = 143 bytes of main data, so 2 more are needed.
    const frames = audioFrames(mono).map((f) => Buffer.from(f));
    const startFrame = Math.floor(5 / MONO_FRAME);
    frames[startFrame][4] = 200;
    const borrowing = Buffer.concat(frames);
    const plain = cutPreview(mono, 5, 30);
    const preview = cutPreview(borrowing, 5, 30);
    expect(scanMp3(preview).frameCount).toBe(scanMp3(plain).frameCount + 2);
    expect(preview.subarray(0, frames[startFrame - 2].length).equals(frames[startFrame - 2])).toBe(true);
  });

  it('rejects a non-positive length', () => {
    expect(() => cutPreview(mono, 0, 0)).toThrow(RangeError);
  });
});
