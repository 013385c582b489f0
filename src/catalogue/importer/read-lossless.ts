import { parseBuffer } from 'music-metadata';
import { decodedSeconds, FfmpegError, previewMp3 } from '../../media/ffmpeg.js';
import { checkLength, PREVIEW_SECONDS, sha256, tagsAndCover, tagsHash, UnusableFileError, type ImportedFile } from './read-file.js';

/** A master that is not what it says, or does not decode completely. */
export class BadMasterError extends Error {}

const MIME = { flac: 'audio/flac', wav: 'audio/wav' } as const;
/** A decoded length this far from the header's is a file cut short (or padded). */
const LENGTH_TOLERANCE_S = 0.5;

/**
 * Reads a FLAC or WAV master: checks it is the format its name says, decodes it completely with
 * ffmpeg (a truncated or damaged file fails here, not in a customer's player), records sample
 * rate, bit depth and channels, and makes the 30-second MP3 preview from it.
 */
export async function readLossless(
  file: string,
  bytes: Buffer,
  kind: 'flac' | 'wav',
  fallbackTitle: string,
  ffmpegPath: string,
  fallbackArtist?: string,
): Promise<ImportedFile> {
  const looksLike = sniff(bytes);
  if (looksLike !== kind)
    throw new BadMasterError(
      `it is named .${kind} but ${looksLike ? `is really ${looksLike.toUpperCase()}` : 'is not audio the store knows'}`,
    );
  const audio = kind === 'flac' ? flacAudio(bytes) : wavAudio(bytes);
  let parsed;
  try {
    parsed = await parseBuffer(bytes, { mimeType: MIME[kind], size: bytes.length }, { duration: false, skipCovers: false });
  } catch (error) {
    throw new BadMasterError(`its ${kind.toUpperCase()} header cannot be read (${(error as Error).message})`);
  }
  const { format, common, native } = parsed;
  if (!format.sampleRate || !format.numberOfChannels || !format.duration)
    throw new BadMasterError(`its ${kind.toUpperCase()} header gives no sample rate, channels or length`);
  if (format.lossless === false) throw new BadMasterError('it holds compressed (lossy) audio, not a lossless master');
  checkLength(format.duration * 1000);
  const { tags, cover } = tagsAndCover(common, fallbackTitle, native, fallbackArtist);
  let decoded: number;
  try {
    decoded = await decodedSeconds(ffmpegPath, file);
  } catch (error) {
    if (error instanceof FfmpegError && /could not be started/.test(error.message))
      throw new UnusableFileError('ffmpeg is not installed, so FLAC and WAV masters cannot be checked');
    throw new BadMasterError(`it does not decode completely (${(error as Error).message})`);
  }
  if (Math.abs(decoded - format.duration) > LENGTH_TOLERANCE_S) {
    throw new BadMasterError(`it is cut short: the header says ${format.duration.toFixed(1)} s, the audio ends at ${decoded.toFixed(1)} s`);
  }
  return {
    bytes,
    preview: await previewMp3(ffmpegPath, file, PREVIEW_SECONDS),
    audioSha256: sha256(audio),
    tagsSha256: tagsHash(tags, cover),
    durationMs: Math.round(format.duration * 1000),
    bitrateKbps: Math.round((audio.length * 8) / format.duration / 1000),
    tags,
    cover,
    master: { format: kind, sampleRate: format.sampleRate, bitDepth: format.bitsPerSample ?? null, channels: format.numberOfChannels },
  };
}

/** What a file's first bytes say it is. */
export function sniff(bytes: Buffer): 'flac' | 'wav' | 'mp3' | 'ogg' | 'mp4' | null {
  const start = bytes.subarray(0, 12).toString('latin1');
  if (start.startsWith('fLaC')) return 'flac';
  if ((start.startsWith('RIFF') || start.startsWith('RF64')) && start.slice(8, 12) === 'WAVE') return 'wav';
  if (start.startsWith('OggS')) return 'ogg';
  if (start.slice(4, 8) === 'ftyp') return 'mp4';
  if (start.startsWith('ID3') || (bytes[0] === 0xff && ((bytes[1] ?? 0) & 0xe0) === 0xe0)) return 'mp3';
  return null;
}

/** FLAC frames after the metadata blocks: the audio, so a retagged master is the same track. */
function flacAudio(bytes: Buffer): Buffer {
  let offset = 4;
  for (;;) {
    if (offset + 4 > bytes.length) throw new BadMasterError('its FLAC metadata blocks run past the end of the file');
    const header = bytes[offset]!;
    const length = bytes.readUIntBE(offset + 1, 3);
    offset += 4 + length;
    if (header & 0x80) break;
  }
  if (offset >= bytes.length) throw new BadMasterError('it has FLAC metadata but no audio');
  return bytes.subarray(offset);
}

/** The WAV file's data chunk: the samples, so a retagged master is the same track. */
function wavAudio(bytes: Buffer): Buffer {
  let offset = 12;
  let sawFormat = false;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('latin1', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    if (id === 'fmt ') sawFormat = true;
    if (id === 'data') {
      if (!sawFormat) break;
      return bytes.subarray(offset + 8, Math.min(bytes.length, offset + 8 + size));
    }
    offset += 8 + size + (size % 2);
  }
  throw new BadMasterError("its WAV header is wrong: no 'fmt ' chunk before the audio data");
}
