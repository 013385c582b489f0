/** The fictional artists, releases and tracks of the demo library. */

import { seedOf } from './prng.js';

export type Genre = 'Electronic' | 'Jazz' | 'Rock' | 'Ambient' | 'Hip-Hop' | 'Folk';
export type ReleaseType = 'album' | 'ep' | 'single';

interface GuestTrack {
  title: string;
  artist: string;
  genre: Genre;
}

interface ReleasePlan {
  albumArtist: string;
  album: string;
  type: ReleaseType;
  year: number;
  genre: Genre;
  /** A plain title is by the album artist; a compilation names each track's own artist. */
  tracks: (string | GuestTrack)[];
  /** A release delivered by a label (docs/labels.md): the rest belong to the store's own label. */
  label?: DemoLabel;
}

/** A label's tags: TPUB, TXXX:BARCODE, TXXX:CATALOGNUMBER, TCOP/TPRO, and ISRCs from the prefix. */
export interface DemoLabel {
  name: string;
  upc: string;
  catalogueNumber: string;
  /** CC + registrant + year: each track's ISRC is this and a five-digit number. */
  isrcPrefix: string;
}

export interface DemoTrack {
  /** Folders and file name below the library root. */
  path: [albumArtist: string, album: string, file: string];
  title: string;
  artist: string;
  albumArtist: string;
  album: string;
  trackNumber: number;
  trackCount: number;
  year: number;
  genre: Genre;
  releaseType: ReleaseType;
  /** Length before `tracksScale`: 35-75 s, so a 30 s preview is a real cut. */
  seconds: number;
  seed: number;
  /** Shared by the tracks of a release: they pick its cover. */
  releaseSeed: number;
  releaseIndex: number;
  label?: DemoLabel;
  isrc?: string;
}

const RELEASES: ReleasePlan[] = [
  {
    albumArtist: 'Lumen Drift',
    album: 'Neon Tides',
    type: 'album',
    year: 2021,
    genre: 'Electronic',
    tracks: [
      'Harbour Lights',
      'Chromatic Rain',
      'Night Ferry',
      'Signal to Noise',
      'Velvet Static',
      'Low Orbit',
      'Glass Arcade',
      'Tidal Memory',
      'Last Train to Shoreline',
    ],
    label: { name: 'Tideline Records', upc: '5060000000016', catalogueNumber: 'TIDE-021', isrcPrefix: 'GBTDL21' },
  },
  {
    albumArtist: 'Lumen Drift',
    album: 'Afterglow EP',
    type: 'ep',
    year: 2024,
    genre: 'Electronic',
    tracks: ['Afterglow', 'Soft Machines', 'Parallax', 'Dawn Protocol'],
  },
  {
    albumArtist: 'The Marlowe Quartet',
    album: 'Blue Hour Sessions',
    type: 'album',
    year: 2019,
    genre: 'Jazz',
    tracks: [
      'Blue Hour',
      'Smoke and Brass',
      'Corner Table',
      'A Quiet Reprise',
      'Rainy Day in Lisbon',
      'Minor Detour',
      'Streetlamp Waltz',
      'Closing Time',
    ],
    label: { name: 'Smoke Room Jazz', upc: '5060000000023', catalogueNumber: 'SRJ-007', isrcPrefix: 'GBSRJ19' },
  },
  {
    albumArtist: 'The Marlowe Quartet',
    album: 'Late Train',
    type: 'single',
    year: 2023,
    genre: 'Jazz',
    tracks: ['Late Train', 'Late Train (Brushes Version)'],
  },
  {
    albumArtist: 'Copper Vale',
    album: 'Rust & Radio',
    type: 'album',
    year: 2020,
    genre: 'Rock',
    tracks: [
      'Rust & Radio',
      'Gravel Roads',
      'Paper Crowns',
      'Burn the Map',
      'Midnight Engine',
      'Satellite Town',
      'Hollow Bones',
      'Static Summer',
      'Red Line',
      'Home Before Dark',
    ],
  },
  {
    albumArtist: 'Copper Vale',
    album: 'Highway Static',
    type: 'single',
    year: 2025,
    genre: 'Rock',
    tracks: ['Highway Static'],
  },
  {
    albumArtist: 'Nadia Solberg',
    album: 'Glass Horizons',
    type: 'album',
    year: 2022,
    genre: 'Ambient',
    tracks: [
      'First Light',
      'Glass Horizons',
      'Slow Tide',
      'Northern Field',
      'Weightless',
      'Salt and Snow',
      'Drifting Lanterns',
      'Evening Hymn',
    ],
  },
  {
    albumArtist: 'K-Theory',
    album: 'Concrete Bloom',
    type: 'ep',
    year: 2023,
    genre: 'Hip-Hop',
    tracks: ['Concrete Bloom', 'Dusty Crates', 'Block Party Theory', 'Rooftop Cipher'],
  },
  {
    albumArtist: 'Willow & Ash',
    album: 'Lanterns in the Orchard',
    type: 'album',
    year: 2024,
    genre: 'Folk',
    tracks: [
      'Lanterns in the Orchard',
      'River Song',
      "The Miller's Daughter",
      'Autumn Letters',
      'Woodsmoke',
      'Over the Hill',
      'Barefoot in June',
      'Old Stone Bridge',
      'Homeward',
    ],
  },
  {
    albumArtist: 'Various Artists',
    album: 'Quiet Machines: A Store Sampler',
    type: 'album',
    year: 2026,
    genre: 'Electronic',
    tracks: [
      { title: 'Moth to the Neon', artist: 'Lumen Drift', genre: 'Electronic' },
      { title: 'After Hours', artist: 'The Marlowe Quartet', genre: 'Jazz' },
      { title: 'Cassette Summer', artist: 'Copper Vale', genre: 'Rock' },
      { title: 'Breathing Room', artist: 'Nadia Solberg', genre: 'Ambient' },
      { title: 'Late Night Loop', artist: 'K-Theory', genre: 'Hip-Hop' },
    ],
  },
];

/** Folder and file names that every file system accepts; the tags keep the real names. */
function safeName(name: string): string {
  return name.replace(/[\\/:*?"<>|]/g, '_').replace(/[. ]+$/, '');
}

/** Every track of the library, in release order. */
export function demoTracks(): DemoTrack[] {
  return RELEASES.flatMap((release, releaseIndex) => {
    const releaseSeed = seedOf(release.albumArtist, release.album);
    return release.tracks.map((track, index): DemoTrack => {
      const { title, artist, genre } =
        typeof track === 'string' ? { title: track, artist: release.albumArtist, genre: release.genre } : track;
      const seed = seedOf(artist, release.album, title);
      const number = String(index + 1).padStart(2, '0');
      return {
        path: [safeName(release.albumArtist), safeName(release.album), `${number} - ${safeName(title)}.mp3`],
        title,
        artist,
        albumArtist: release.albumArtist,
        album: release.album,
        trackNumber: index + 1,
        trackCount: release.tracks.length,
        year: release.year,
        genre,
        releaseType: release.type,
        seconds: 35 + (seed % 41),
        seed,
        releaseSeed,
        releaseIndex,
        ...(release.label ? { label: release.label, isrc: `${release.label.isrcPrefix}${String(index + 1).padStart(5, '0')}` } : {}),
      };
    });
  });
}
