import { createHash } from 'node:crypto';
import { parseBuffer, type ICommonTagsResult } from 'music-metadata';
import type { MasterFormat } from '../../media/formats.js';
import { scanAndCutPreview } from '../mp3/frames.js';

/** Everything the importer needs from one audio file (MP3, FLAC or WAV), read once from memory. */
export interface ImportedFile {
  bytes: Buffer;
  preview: Buffer;
  audioSha256: string;
  tagsSha256: string;
  durationMs: number;
  bitrateKbps: number;
  tags: TrackTags;
  cover: { data: Buffer; extension: 'jpg' | 'png' | 'gif' | 'webp' } | undefined;
  master: MasterInfo;
}

/** What the master is: its format, and for a lossless one what it carries (null for an MP3). */
export interface MasterInfo {
  format: MasterFormat;
  sampleRate: number | null;
  bitDepth: number | null;
  channels: number | null;
}

export interface TrackTags {
  title: string;
  artist: string;
  albumArtist: string;
  album: string | undefined;
  trackNumber: number | undefined;
  discNumber: number;
  /** As much of the date as the tags give: 2019-06-14, 2019-06 or 2019. */
  date: string | undefined;
  genre: string | undefined;
  releaseType: 'album' | 'ep' | 'single' | undefined;
  /** TPUB (ID3) / LABEL / ORGANIZATION: the record label. */
  label: string | undefined;
  isrc: string | undefined;
  /** UPC/EAN (the BARCODE tag): the release's ICPN. */
  icpn: string | undefined;
  catalogueNumber: string | undefined;
  /** TCOP: the copyright line, shown as the release's C-line. */
  cLine: string | undefined;
  /** TPRO (ID3v2.4 "produced notice"; music-metadata leaves it in the native tags): the P-line. */
  pLine: string | undefined;
}

export class UnusableFileError extends Error {}

/** A track longer than this is a mistake (a whole DJ set, a stuck export), not something to sell. */
export const MAX_TRACK_MINUTES = 90;

export function checkLength(durationMs: number): void {
  if (durationMs > MAX_TRACK_MINUTES * 60_000)
    throw new UnusableFileError(`it is ${Math.round(durationMs / 60_000)} minutes long; a track may be at most ${MAX_TRACK_MINUTES}`);
}

export const PREVIEW_SECONDS = 30;
const IMAGE_EXTENSIONS: Record<string, 'jpg' | 'png' | 'gif' | 'webp'> = {
  'image/jpeg': 'jpg',
  'image/jpg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const clean = (value: string | undefined | null, max = 200) => value?.replace(/\s+/g, ' ').trim().slice(0, max) || undefined;

/** Reads frames (ours) and tags (music-metadata); throws NotMp3Error or UnusableFileError. */
export async function readMp3(bytes: Buffer, fallbackTitle: string, fallbackArtist?: string): Promise<ImportedFile> {
  const { info, preview } = scanAndCutPreview(bytes, 0, PREVIEW_SECONDS);
  const { common, format, native } = await parseBuffer(
    bytes,
    { mimeType: 'audio/mpeg', size: bytes.length },
    { duration: false, skipCovers: false },
  );
  const { tags, cover } = tagsAndCover(common, fallbackTitle, native, fallbackArtist);
  return {
    bytes,
    preview,
    audioSha256: sha256(bytes.subarray(info.audioStart, info.audioEnd)),
    tagsSha256: tagsHash(tags, cover),
    durationMs: Math.round(info.durationSeconds * 1000),
    bitrateKbps: info.bitrateKbps,
    tags,
    cover,
    master: { format: 'mp3', sampleRate: format.sampleRate ?? null, bitDepth: null, channels: format.numberOfChannels ?? null },
  };
}

export const tagsHash = (tags: TrackTags, cover: ImportedFile['cover']) =>
  sha256(JSON.stringify({ tags, cover: cover ? sha256(cover.data) : null }));

/** The catalogue's tags and the embedded cover, as music-metadata reads them from any format. */
export function tagsAndCover(
  common: ICommonTagsResult,
  fallbackTitle: string,
  native: Record<string, { id: string; value: unknown }[]> = {},
  /** A feed's own metadata names the artist (a DDEX message): an untagged master is then fine. */
  fallbackArtist?: string,
): Pick<ImportedFile, 'tags' | 'cover'> {
  const artist = clean(common.artist) ?? clean(common.albumartist) ?? clean(fallbackArtist);
  if (!artist) throw new UnusableFileError('it has no artist tag');
  const tags: TrackTags = {
    title: clean(common.title) ?? fallbackTitle,
    artist,
    albumArtist: clean(common.albumartist) ?? artist,
    album: clean(common.album),
    trackNumber: common.track?.no ?? undefined,
    discNumber: common.disk?.no ?? 1,
    date: releaseDate(common.date, common.year),
    genre: clean(common.genre?.[0], 100),
    releaseType: releaseType(common.releasetype),
    label: clean(common.label?.[0]),
    isrc: isrcOf(common.isrc?.[0]),
    icpn: icpnOf(common.barcode),
    catalogueNumber: clean(common.catalognumber?.[0], 50),
    cLine: clean(common.copyright, 255),
    pLine: clean(nativeText(native, 'TPRO'), 255),
  };
  const picture = common.picture?.find((p) => IMAGE_EXTENSIONS[p.format.toLowerCase()]);
  const cover = picture ? { data: Buffer.from(picture.data), extension: IMAGE_EXTENSIONS[picture.format.toLowerCase()]! } : undefined;
  return { tags, cover };
}

/** The release date as far as the tags know it: a day, a month or only a year (never made up to 1 January). */
function releaseDate(date: string | undefined, year: number | undefined): string | undefined {
  const known = date?.match(/^(\d{4})-(\d{2})(?:-(\d{2}))?/);
  if (known && Number(known[2]) >= 1 && Number(known[2]) <= 12) return known[3] ? known[0] : `${known[1]}-${known[2]}`;
  const y = year ?? (date ? Number(date.slice(0, 4)) : NaN);
  return Number.isInteger(y) && y > 1000 && y < 3000 ? String(y) : undefined;
}

function releaseType(types: string[] | undefined): TrackTags['releaseType'] {
  const type = types?.map((t) => t.toLowerCase()).find((t) => t === 'album' || t === 'ep' || t === 'single');
  return type as TrackTags['releaseType'];
}

/** An ISRC as the standard writes it (CC-XXX-YY-NNNNN, hyphens optional); anything else is left out. */
export function isrcOf(value: string | undefined): string | undefined {
  const compact = value?.replace(/-/g, '').trim().toUpperCase();
  return compact && /^[A-Z]{2}[A-Z0-9]{3}\d{7}$/.test(compact) ? compact : undefined;
}

/** A UPC (12 digits) or EAN (13) or GTIN-14; anything else is left out. */
export function icpnOf(value: string | undefined): string | undefined {
  const digits = value?.replace(/\s/g, '');
  return digits && /^\d{12,14}$/.test(digits) ? digits : undefined;
}

function nativeText(native: Record<string, { id: string; value: unknown }[]>, id: string): string | undefined {
  for (const tags of Object.values(native)) {
    const value = tags.find((t) => t.id === id)?.value;
    if (typeof value === 'string') return value;
  }
  return undefined;
}
