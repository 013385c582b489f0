import type { DownloadFormatId } from '../config.js';

/**
 * What a track can be downloaded as. An MP3 import is sold as the MP3 it is ('mp3'); a lossless
 * master (FLAC or WAV) as each of DOWNLOAD_FORMATS, made from the master by ffmpeg. A lossy file
 * is never re-encoded, never sold as lossless, and nothing is upsampled.
 */
export type FormatId = DownloadFormatId | 'mp3';

export interface DownloadFormat {
  id: FormatId;
  label: string;
  extension: 'mp3' | 'flac' | 'm4a';
  contentType: string;
  /** ffmpeg's muxer. */
  container: 'mp3' | 'flac' | 'ipod';
  /** The highest sample rate the format carries; a master above it is resampled down, never up. */
  maxSampleRate: number;
  maxChannels: number;
  /** ffmpeg's audio codec options, given the master's own codec. */
  codecArgs(masterFormat: MasterFormat): string[];
}

export type MasterFormat = 'mp3' | 'flac' | 'wav';

export const FORMATS: Record<FormatId, DownloadFormat> = {
  mp3: {
    id: 'mp3',
    label: 'MP3',
    extension: 'mp3',
    contentType: 'audio/mpeg',
    container: 'mp3',
    maxSampleRate: 48000,
    maxChannels: 2,
    codecArgs: () => ['-c:a', 'copy'],
  },
  'mp3-320': {
    id: 'mp3-320',
    label: 'MP3 320',
    extension: 'mp3',
    contentType: 'audio/mpeg',
    container: 'mp3',
    maxSampleRate: 48000,
    maxChannels: 2,
    codecArgs: () => ['-c:a', 'libmp3lame', '-b:a', '320k'],
  },
  'mp3-v0': {
    id: 'mp3-v0',
    label: 'MP3 V0',
    extension: 'mp3',
    contentType: 'audio/mpeg',
    container: 'mp3',
    maxSampleRate: 48000,
    maxChannels: 2,
    codecArgs: () => ['-c:a', 'libmp3lame', '-q:a', '0'],
  },
  // A FLAC master's frames are copied as they are (bit for bit); a WAV master is compressed.
  flac: {
    id: 'flac',
    label: 'FLAC',
    extension: 'flac',
    contentType: 'audio/flac',
    container: 'flac',
    maxSampleRate: 655_350,
    maxChannels: 8,
    codecArgs: (master) => (master === 'flac' ? ['-c:a', 'copy'] : ['-c:a', 'flac', '-compression_level', '8']),
  },
  'aac-256': {
    id: 'aac-256',
    label: 'AAC 256',
    extension: 'm4a',
    contentType: 'audio/mp4',
    container: 'ipod',
    maxSampleRate: 48000,
    maxChannels: 2,
    codecArgs: () => ['-c:a', 'aac', '-b:a', '256k'],
  },
};

/** ffmpeg encoders each format needs; a format whose encoder is missing is off. */
export const ENCODER_OF: Record<DownloadFormatId, string> = {
  'mp3-320': 'libmp3lame',
  'mp3-v0': 'libmp3lame',
  flac: 'flac',
  'aac-256': 'aac',
};

export const isFormatId = (value: unknown): value is FormatId => typeof value === 'string' && Object.hasOwn(FORMATS, value);

/** The formats a track is offered in: its MP3 as imported, or (from a lossless master) those on sale. */
export function offeredFormats(masterFormat: MasterFormat, onSale: readonly DownloadFormatId[]): FormatId[] {
  return masterFormat === 'mp3' ? ['mp3'] : [...onSale];
}

/** The format a download uses: the one asked for when offered, else the customer's remembered one, else the first offered. */
export function chooseFormat(offered: FormatId[], ...wishes: (string | null | undefined)[]): FormatId | undefined {
  for (const wish of wishes) if (isFormatId(wish) && offered.includes(wish)) return wish;
  // An MP3 customer's choice of "MP3 320" means MP3 where only the imported MP3 exists.
  if (offered.includes('mp3') && wishes.some((w) => typeof w === 'string' && w.startsWith('mp3'))) return 'mp3';
  return offered[0];
}

/** Sample-rate option: down to the format's limit (44.1 kHz family stays in it), never up. */
export function sampleRateArgs(format: DownloadFormat, masterRate: number | null): string[] {
  if (!masterRate || masterRate <= format.maxSampleRate) return [];
  return ['-ar', masterRate % 11025 === 0 ? '44100' : '48000'];
}
