import fs from 'node:fs';
import path from 'node:path';
import lamejs from '@breezystack/lamejs';
import NodeID3 from 'node-id3';

/**
 * Real MP3s for the bench: a short tone encoded once by LAME (lamejs), repeated frame by frame
 * to the length wanted (a run of whole MPEG frames is itself a valid MP3), each file tagged with
 * its own ID3v2 tags by node-id3.
 */
function encodeTone(seconds: number, frequency: number, kbps = 128): Buffer {
  const sampleRate = 44100;
  const samples = new Int16Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * frequency * i) / sampleRate));
  const encoder = new lamejs.Mp3Encoder(1, sampleRate, kbps);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < samples.length; i += 1152) chunks.push(encoder.encodeBuffer(samples.subarray(i, i + 1152)));
  chunks.push(encoder.flush());
  return Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
}

/** An MP3 of about `bytes` bytes, built from whole repetitions of one encoded second. */
export function mp3OfSize(bytes: number, tags: NodeID3.Tags): Buffer {
  const second = encodeTone(1, 440);
  const audio = Buffer.concat(Array.from({ length: Math.max(1, Math.round(bytes / second.length)) }, () => second));
  return NodeID3.write(tags, audio) as Buffer;
}

/**
 * `count` tagged MP3s of `seconds` (at 64 kbit/s) in a folder tree like a shop's
 * (artist/album/NN title.mp3), ten tracks to an album, five albums to an artist. Each file's
 * audio is its own: its seconds are one of two encoded tones, chosen by the bits of its number.
 */
export function writeLibrary(dir: string, count: number, seconds = 35): void {
  const tones = [encodeTone(1, 330, 64), encodeTone(1, 523, 64)];
  for (let i = 0; i < count; i++) {
    const album = Math.floor(i / 10);
    const artist = `Import Artist ${Math.floor(album / 5) + 1}`;
    const albumTitle = `Import Album ${album + 1}`;
    const title = `Import Track ${i + 1}`;
    const folder = path.join(dir, artist, albumTitle);
    fs.mkdirSync(folder, { recursive: true });
    const audio = Buffer.concat(Array.from({ length: seconds }, (_, s) => tones[(i >> s) & 1]!));
    const tags: NodeID3.Tags = {
      title,
      artist,
      performerInfo: artist,
      album: albumTitle,
      trackNumber: String((i % 10) + 1),
      year: '2026',
      genre: 'Electronic',
    };
    fs.writeFileSync(path.join(folder, `${String((i % 10) + 1).padStart(2, '0')} ${title}.mp3`), NodeID3.write(tags, audio) as Buffer);
  }
}
