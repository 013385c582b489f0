import { spawn } from 'node:child_process';
import type { DownloadFormatId } from '../config.js';
import { ENCODER_OF, FORMATS, sampleRateArgs, type FormatId, type MasterFormat } from './formats.js';

/** ffmpeg (Debian's package): what it can do here, found once at start-up. */
export interface Ffmpeg {
  path: string;
  available: boolean;
  /** Formats of DOWNLOAD_FORMATS this ffmpeg can make. */
  formats: DownloadFormatId[];
  /** For the start-up log: what is missing and what that turns off; null when all is well. */
  problem: string | null;
}

export class FfmpegError extends Error {}

/** Runs ffmpeg; resolves with stdout and stderr, rejects with the last lines of stderr. */
export function runFfmpeg(path: string, args: string[], options: { input?: Buffer } = {}): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, ['-hide_banner', '-nostdin', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-20_000);
    });
    child.on('error', (error) => reject(new FfmpegError(`ffmpeg could not be started (${error.message})`)));
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr });
      else reject(new FfmpegError(lastLines(stderr) || `ffmpeg exited with ${code}`));
    });
    child.stdin.end(options.input);
  });
}

const lastLines = (text: string) => text.trim().split('\n').slice(-2).join(' ').replace(/\s+/g, ' ').slice(0, 200);

/** Looks for ffmpeg and its encoders; says plainly which of the formats on sale are off without them. */
export async function detectFfmpeg(path: string, wanted: readonly DownloadFormatId[]): Promise<Ffmpeg> {
  let encoders = '';
  try {
    encoders = (await runFfmpeg(path, ['-encoders'])).stdout.toString();
  } catch {
    return {
      path,
      available: false,
      formats: [],
      problem: `ffmpeg was not found (FFMPEG_PATH=${path}; on Debian: apt-get install ffmpeg). Without it FLAC and WAV masters cannot be imported and ${wanted.join(', ')} ${wanted.length === 1 ? 'is' : 'are'} off; MP3 imports are sold as imported.`,
    };
  }
  const has = (name: string) => new RegExp(`^\\s*A\\S*\\s+${name}\\s`, 'm').test(encoders);
  const formats = wanted.filter((f) => has(ENCODER_OF[f]));
  const off = wanted.filter((f) => !formats.includes(f));
  return {
    path,
    available: true,
    formats,
    problem: off.length
      ? `ffmpeg at ${path} lacks the encoders for ${off.join(', ')} (${off.map((f) => ENCODER_OF[f]).join(', ')}): those formats are off.`
      : null,
  };
}

/**
 * Decodes a whole file and fails on any decoding error; returns the decoded length in seconds,
 * so a file cut at a frame boundary (which decodes cleanly) is caught by comparing with its header.
 */
export async function decodedSeconds(ffmpegPath: string, file: string): Promise<number> {
  const { stderr } = await runFfmpeg(ffmpegPath, ['-v', 'error', '-stats', '-i', file, '-map', '0:a:0', '-f', 'null', '-']);
  const problems = stderr.split(/[\r\n]+/).filter((line) => line.trim() && !/^size=/.test(line.trim()));
  if (problems.length)
    throw new FfmpegError(
      problems
        .slice(0, 2)
        .join(' ')
        .replace(/\[[^\]]*@ 0x[0-9a-f]+\]\s*/g, '')
        .slice(0, 200),
    );
  const times = [...stderr.matchAll(/time=(\d+):(\d+):(\d+(?:\.\d+)?)/g)].at(-1);
  return times ? Number(times[1]) * 3600 + Number(times[2]) * 60 + Number(times[3]) : 0;
}

/** The first seconds of a master as a 128 kbps MP3, for the player on the release page. */
export async function previewMp3(ffmpegPath: string, file: string, seconds: number): Promise<Buffer> {
  const { stdout } = await runFfmpeg(ffmpegPath, [
    '-v',
    'error',
    '-i',
    file,
    '-t',
    String(seconds),
    '-map',
    '0:a:0',
    '-map_metadata',
    '-1',
    '-ac',
    '2',
    '-ar',
    '44100',
    '-c:a',
    'libmp3lame',
    '-b:a',
    '128k',
    '-f',
    'mp3',
    'pipe:1',
  ]);
  return stdout;
}

export interface DeliveryTags {
  title: string;
  artist: string;
  albumArtist: string;
  album: string;
  trackNumber: number;
  trackCount: number;
  discNumber: number;
  discCount: number;
  year: string | null;
  genre: string | null;
}

/**
 * Makes one delivered file from a master: the format's codec (or the master's frames copied),
 * complete tags (ID3v2.3 for MP3, Vorbis comments for FLAC, MP4 atoms for AAC) and the cover as
 * the front-cover picture. Whatever tags the master carried are replaced by the catalogue's.
 */
export async function encodeDelivery(
  ffmpegPath: string,
  job: {
    master: string;
    masterFormat: MasterFormat;
    sampleRate: number | null;
    channels: number | null;
    cover: string | null;
    format: FormatId;
    tags: DeliveryTags;
    output: string;
  },
): Promise<void> {
  const format = FORMATS[job.format];
  const t = job.tags;
  const metadata: [string, string | null][] = [
    ['title', t.title],
    ['artist', t.artist],
    ['album_artist', t.albumArtist],
    ['album', t.album],
    ['track', `${t.trackNumber}/${t.trackCount}`],
    ['disc', `${t.discNumber}/${t.discCount}`],
    ['date', t.year],
    ['genre', t.genre],
  ];
  const copying = format.codecArgs(job.masterFormat).includes('copy');
  const args = [
    '-v',
    'error',
    '-y',
    '-i',
    job.master,
    ...(job.cover ? ['-i', job.cover] : []),
    '-map',
    '0:a:0',
    ...(job.cover
      ? [
          '-map',
          '1:v:0',
          '-c:v',
          'copy',
          '-disposition:v',
          'attached_pic',
          '-metadata:s:v',
          'title=Cover',
          '-metadata:s:v',
          'comment=Cover (front)',
        ]
      : []),
    '-map_metadata',
    '-1',
    ...format.codecArgs(job.masterFormat),
    ...(copying ? [] : sampleRateArgs(format, job.sampleRate)),
    ...(copying || !job.channels || job.channels <= format.maxChannels ? [] : ['-ac', '2']),
    ...(format.container === 'mp3' ? ['-id3v2_version', '3', '-write_id3v1', '1'] : []),
    ...(format.container === 'ipod' ? ['-movflags', '+faststart'] : []),
    ...metadata.flatMap(([name, value]) => (value ? ['-metadata', `${name}=${value}`] : [])),
    '-f',
    format.container,
    job.output,
  ];
  await runFfmpeg(ffmpegPath, args);
}
