/** Makes one demo track: composes it, encodes it and writes it with its ID3 tags and cover. */

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import NodeID3 from 'node-id3';
import type { DemoTrack } from './catalogue-plan.js';
import { composeSong, songBars } from './compose.js';
import { encodeBars } from './encode.js';

export interface TrackJob {
  track: DemoTrack;
  file: string;
  /** The release's cover PNG. */
  cover: Uint8Array;
  tracksScale: number;
}

function tagsFor(track: DemoTrack, cover: Uint8Array): NodeID3.Tags {
  return {
    title: track.title,
    artist: track.artist,
    performerInfo: track.albumArtist,
    album: track.album,
    trackNumber: `${track.trackNumber}/${track.trackCount}`,
    year: String(track.year),
    genre: track.genre,
    image: { mime: 'image/png', type: { id: 3 }, description: 'Front cover', imageBuffer: Buffer.from(cover) },
    // Read by music-metadata as the release type (album, EP or single).
    userDefinedText: [
      { description: 'MusicBrainz Album Type', value: track.releaseType },
      ...(track.label
        ? [
            { description: 'BARCODE', value: track.label.upc },
            { description: 'CATALOGNUMBER', value: track.label.catalogueNumber },
          ]
        : []),
    ],
    ...(track.label
      ? {
          publisher: track.label.name,
          ISRC: track.isrc,
          copyright: `${track.year} ${track.label.name}`,
          producedNotice: `${track.year} ${track.label.name}`,
        }
      : {}),
  };
}

/** Synchronous on purpose: it runs in a worker process with nothing else to do (see render-worker.ts). */
export function writeDemoTrack(job: TrackJob): void {
  const { track } = job;
  const song = composeSong(track.genre, track.seed, track.seconds, job.tracksScale);
  const audio = encodeBars(songBars(song));
  mkdirSync(path.dirname(job.file), { recursive: true });
  writeFileSync(job.file, NodeID3.write(tagsFor(track, job.cover), audio));
}
