import { fromDbTime } from '../db/dialect.js';
import type { library } from './repository.js';

type LibraryRow = Awaited<ReturnType<typeof library>>[number];

export type LibraryRelease = ReturnType<typeof groupByRelease>[number];

/** Releases in the order their newest purchase was made, tracks in running order. */
export function groupByRelease(rows: LibraryRow[]) {
  const releases = new Map<
    number,
    { id: number; title: string; artist: string; coverUrl: string | null; boughtAt: Date; tracks: LibraryRow[] }
  >();
  for (const row of rows) {
    const release = releases.get(row.release_id) ?? {
      id: row.release_id,
      title: row.release_title,
      artist: row.release_artist,
      coverUrl: row.cover_file ? `/cover/${row.release_id}?v=${row.release_updated_at.replace(/\D/g, '')}` : null,
      boughtAt: fromDbTime(String(row.bought_at)),
      tracks: [],
    };
    release.tracks.push(row);
    releases.set(row.release_id, release);
  }
  return [...releases.values()].map((r) => ({
    ...r,
    tracks: r.tracks.sort((a, b) => a.disc_number - b.disc_number || a.track_number - b.track_number),
  }));
}
