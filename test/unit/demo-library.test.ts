import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseFile, type IAudioMetadata } from 'music-metadata';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoTracks, type DemoTrack } from '../../src/catalogue/demo/catalogue-plan.js';
import { composeSong, songBars } from '../../src/catalogue/demo/compose.js';
import { generateDemoLibrary } from '../../src/catalogue/demo/library.js';
import { SAMPLE_RATE } from '../../src/catalogue/demo/synth.js';
import { writeDemoTrack } from '../../src/catalogue/demo/track-writer.js';
import { audioFrames, scanMp3 } from '../../src/catalogue/mp3/frames.js';

const SCALE = 0.1;
const plan = demoTracks();
let dir: string;
let files: string[];
const progress: [number, number][] = [];
const read = new Map<string, { bytes: Buffer; meta: IAudioMetadata }>();

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'demo-library-'));
  ({ files } = await generateDemoLibrary(dir, { tracksScale: SCALE, onProgress: (done, total) => progress.push([done, total]) }));
  for (const file of files) read.set(file, { bytes: readFileSync(file), meta: await parseFile(file) });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const fileOf = (track: DemoTrack) => path.join(dir, ...track.path);

describe('the demo catalogue plan', () => {
  it('has a few artists, about ten releases of each kind, and ~60 tracks', () => {
    const releases = new Set(plan.map((t) => `${t.albumArtist}/${t.album}`));
    expect(plan.length).toBeGreaterThanOrEqual(55);
    expect(releases.size).toBeGreaterThanOrEqual(9);
    expect(new Set(plan.map((t) => t.artist)).size).toBeGreaterThanOrEqual(5);
    expect(new Set(plan.map((t) => t.genre)).size).toBeGreaterThanOrEqual(5);
    expect(new Set(plan.map((t) => t.releaseType))).toEqual(new Set(['album', 'ep', 'single']));
    expect(plan.some((t) => t.artist !== t.albumArtist)).toBe(true);
    expect(plan.every((t) => t.year >= 2019 && t.year <= 2026)).toBe(true);
  });

  it('composes songs of whole MP3 frames, long enough for a 30 s preview to be a cut', () => {
    for (const track of plan) {
      const song = composeSong(track.genre, track.seed, track.seconds);
      expect(song.barLength % (2 * 576)).toBe(0);
      const seconds = ((song.arrangement.length - 0.5) * song.barLength) / SAMPLE_RATE; // the intro is half a bar
      expect(seconds).toBeGreaterThan(32);
      expect(seconds).toBeLessThan(80);
    }
  });
});

describe('generateDemoLibrary', () => {
  it('writes the Album Artist/Album/NN - Title.mp3 tree and reports progress', () => {
    expect(files).toEqual(plan.map(fileOf));
    expect(files.map((f) => path.relative(dir, f))).toContain(path.join('Copper Vale', 'Rust & Radio', '01 - Rust & Radio.mp3'));
    expect(progress.at(-1)).toEqual([plan.length, plan.length]);
    expect(progress.map(([done]) => done)).toEqual(plan.map((_, i) => i + 1));
  });

  it('tags every file as planned', () => {
    for (const track of plan) {
      const { common } = read.get(fileOf(track))!.meta;
      expect(common).toMatchObject({
        title: track.title,
        artist: track.artist,
        albumartist: track.albumArtist,
        album: track.album,
        track: { no: track.trackNumber, of: track.trackCount },
        year: track.year,
        genre: [track.genre],
      });
      expect(common.releasetype).toContain(track.releaseType);
      if (track.label)
        expect(common).toMatchObject({
          label: [track.label.name],
          isrc: [track.isrc],
          barcode: track.label.upc,
          catalognumber: [track.label.catalogueNumber],
        });
      else expect(common.label).toBeUndefined();
    }
    // The demo shows labels: two releases come from labels of their own.
    expect(new Set(plan.flatMap((t) => (t.label ? [t.label.name] : [])))).toEqual(new Set(['Tideline Records', 'Smoke Room Jazz']));
  });

  it('embeds one 500x500 PNG front cover per release', () => {
    const coverOf = new Map<number, string>();
    for (const track of plan) {
      const [picture] = read.get(fileOf(track))!.meta.common.picture ?? [];
      expect(picture).toMatchObject({ format: 'image/png', type: 'Cover (front)' });
      const png = Buffer.from(picture.data);
      expect(png.subarray(0, 8).equals(Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'))).toBe(true);
      expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([500, 500]);
      expect(coverOf.get(track.releaseIndex) ?? sha(png)).toBe(sha(png));
      coverOf.set(track.releaseIndex, sha(png));
    }
    expect(new Set(coverOf.values()).size).toBe(coverOf.size);
  });

  it('writes exactly the frames of the composed bars', () => {
    for (const track of plan) {
      const bars = songBars(composeSong(track.genre, track.seed, track.seconds, SCALE));
      const samples = bars.reduce((sum, bar) => sum + bar.length, 0);
      expect(scanMp3(read.get(fileOf(track))!.bytes).frameCount).toBe(samples / 576);
    }
  });

  it('writes MP3s whose frame scan agrees with music-metadata', () => {
    for (const { bytes, meta } of read.values()) {
      const info = scanMp3(bytes);
      expect(meta.format).toMatchObject({ codec: 'MPEG 2 Layer 3', sampleRate: SAMPLE_RATE, numberOfChannels: 1 });
      expect(info).toMatchObject({ sampleRate: SAMPLE_RATE, channels: 1, bitrateKbps: 40, audioEnd: bytes.length });
      expect(meta.format.duration).toBeGreaterThan(0);
      expect(Math.abs(info.durationSeconds - meta.format.duration!)).toBeLessThan(0.1);
    }
  });

  it('never uses the bit reservoir, which splicing bars relies on (see encode.ts)', () => {
    for (const { bytes } of read.values()) {
      // No CRC (protection bit set), so main_data_begin is the byte after the 4-byte header.
      for (const frame of audioFrames(bytes)) expect([frame[1] & 1, frame[4]]).toEqual([1, 0]);
    }
  });

  it('is deterministic: a track made again is byte-identical', () => {
    const track = plan[3];
    const again = path.join(dir, 'again.mp3');
    const cover = read.get(fileOf(track))!.meta.common.picture![0].data;
    writeDemoTrack({ track, file: again, cover, tracksScale: SCALE });
    expect(sha(readFileSync(again))).toBe(sha(read.get(fileOf(track))!.bytes));
  });
});
