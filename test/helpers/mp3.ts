import lamejs from '@breezystack/lamejs';
import NodeID3 from 'node-id3';
import { PNG } from 'pngjs';

export interface Mp3Tags {
  title?: string;
  artist?: string;
  albumArtist?: string;
  album?: string;
  trackNumber?: string;
  year?: string;
  genre?: string;
  withCover?: boolean;
  /** TPUB, TSRC, TCOP, TPRO and TXXX:BARCODE / TXXX:CATALOGNUMBER (labels, docs/labels.md). */
  label?: string;
  isrc?: string;
  copyright?: string;
  produced?: string;
  barcode?: string;
  catalogueNumber?: string;
}

/** A real MP3: a tone encoded by LAME (lamejs), `seconds` long, tagged with ID3v2 by node-id3. */
export function makeMp3(seconds: number, tags: Mp3Tags, frequency = 440): Buffer {
  const sampleRate = 22050;
  const samples = new Int16Array(Math.round(seconds * sampleRate));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(6000 * Math.sin((2 * Math.PI * frequency * i) / sampleRate));
  const encoder = new lamejs.Mp3Encoder(1, sampleRate, 48);
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < samples.length; i += 1152) chunks.push(encoder.encodeBuffer(samples.subarray(i, i + 1152)));
  chunks.push(encoder.flush());
  return tag(Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))), tags);
}

export function tag(mp3: Buffer, tags: Mp3Tags): Buffer {
  const id3: NodeID3.Tags = {
    title: tags.title,
    artist: tags.artist,
    performerInfo: tags.albumArtist,
    album: tags.album,
    trackNumber: tags.trackNumber,
    year: tags.year,
    genre: tags.genre,
    publisher: tags.label,
    ISRC: tags.isrc,
    copyright: tags.copyright,
    producedNotice: tags.produced,
  };
  const userText = [
    ...(tags.barcode ? [{ description: 'BARCODE', value: tags.barcode }] : []),
    ...(tags.catalogueNumber ? [{ description: 'CATALOGNUMBER', value: tags.catalogueNumber }] : []),
  ];
  if (userText.length) id3.userDefinedText = userText;
  if (tags.withCover) id3.image = { mime: 'image/png', type: { id: 3, name: 'front cover' }, description: 'cover', imageBuffer: tinyPng() };
  return NodeID3.write(id3, mp3) as Buffer;
}

function tinyPng(): Buffer {
  const png = new PNG({ width: 4, height: 4 });
  png.data.fill(200);
  return PNG.sync.write(png);
}
