/**
 * MPEG audio Layer III frame scanner: measures a file and cuts previews by
 * copying whole frames, so we never decode or re-encode audio.
 */

export class NotMp3Error extends Error {
  override name = 'NotMp3Error';
}

export interface Mp3Info {
  /** Offset of the first frame (a Xing/Info/VBRI header frame included). */
  audioStart: number;
  /** End of the last whole frame. */
  audioEnd: number;
  /** Audio frames only: a Xing/Info/VBRI header frame holds no sound. */
  frameCount: number;
  durationSeconds: number;
  bitrateKbps: number;
  sampleRate: number;
  channels: 1 | 2;
}

/** A frame found in the file: where it starts and what its header says. */
interface Frame {
  offset: number;
  /** The 2 version bits: 3 = MPEG-1, 2 = MPEG-2, 0 = MPEG-2.5. */
  versionBits: number;
  sampleRate: number;
  bitrateKbps: number;
  length: number;
  samples: number;
  channels: 1 | 2;
  /** Bytes from the frame start to the side info: the header and its optional CRC. */
  sideInfoOffset: number;
  /** Bytes from the frame start to the main data, past the side info. */
  mainDataOffset: number;
}

const LAYER_III_KBPS = {
  mpeg1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  mpeg2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<number, number[]> = {
  3: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  0: [11025, 12000, 8000],
};
/** Consecutive frames required before we believe a sync word is real. */
const MIN_RUN = 3;

/** Decodes the 4-byte Layer III header of a frame at `pos`, or null if these bytes cannot be one. */
function parseHeader(buf: Buffer, pos: number): Frame | null {
  if (pos + 4 > buf.length || buf[pos] !== 0xff || (buf[pos + 1] & 0xe0) !== 0xe0) return null;
  const b1 = buf[pos + 1];
  const b2 = buf[pos + 2];
  const b3 = buf[pos + 3];
  const versionBits = (b1 >> 3) & 3;
  const layerBits = (b1 >> 1) & 3;
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  // Free-format bitrate (index 0) has no computable length; we treat it as invalid.
  const invalid = versionBits === 1 || layerBits !== 1 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3 || (b3 & 3) === 2;
  if (invalid) return null;
  const mpeg1 = versionBits === 3;
  const bitrateKbps = (mpeg1 ? LAYER_III_KBPS.mpeg1 : LAYER_III_KBPS.mpeg2)[bitrateIndex];
  const sampleRate = SAMPLE_RATES[versionBits][rateIndex];
  const channels = b3 >> 6 === 3 ? 1 : 2;
  const padding = (b2 >> 1) & 1;
  const sideInfo = mpeg1 ? (channels === 1 ? 17 : 32) : channels === 1 ? 9 : 17;
  const sideInfoOffset = (b1 & 1) === 0 ? 6 : 4; // a protected frame carries a 16-bit CRC
  return {
    offset: pos,
    versionBits,
    sampleRate,
    bitrateKbps,
    length: Math.floor(((mpeg1 ? 144 : 72) * bitrateKbps * 1000) / sampleRate) + padding,
    samples: mpeg1 ? 1152 : 576,
    channels,
    sideInfoOffset,
    mainDataOffset: sideInfoOffset + sideInfo,
  };
}

/** Frames of one stream share version, sample rate and channel count; anything else is a false sync. */
function sameStream(a: Frame, b: Frame): boolean {
  return a.versionBits === b.versionBits && a.sampleRate === b.sampleRate && a.channels === b.channels;
}

/** Skips ID3v2 tags (there may be several) so sync-like bytes in tag data, e.g. cover art, are never scanned. */
function skipId3v2(buf: Buffer): number {
  let pos = 0;
  while (pos + 10 <= buf.length && buf.toString('latin1', pos, pos + 3) === 'ID3') {
    const sizeBytes = buf.subarray(pos + 6, pos + 10);
    if (sizeBytes.some((b) => b > 0x7f)) break; // not a syncsafe size, so not a real tag
    const size = sizeBytes.reduce((acc, b) => (acc << 7) | b, 0);
    const hasFooter = (buf[pos + 5] & 0x10) !== 0;
    pos += 10 + size + (hasFooter ? 10 : 0);
  }
  return Math.min(pos, buf.length);
}

/** Where trailing ID3v1 / APEv2 tags begin, so their binary items cannot be taken for frames. */
function trailerStart(buf: Buffer, start: number): number {
  let end = buf.length;
  if (end - 128 >= start && buf.toString('latin1', end - 128, end - 125) === 'TAG') end -= 128;
  const footer = end - 32;
  if (footer >= start && buf.toString('latin1', footer, footer + 8) === 'APETAGEX') {
    const size = buf.readUInt32LE(footer + 12);
    const hasHeader = (buf.readUInt32LE(footer + 20) & 0x80000000) !== 0;
    const tagStart = end - size - (hasHeader ? 32 : 0);
    if (tagStart >= start) end = tagStart;
  }
  return end;
}

/** True if `MIN_RUN` frames of one stream start at `pos` (or fewer that end exactly at `end`). */
function runStartsAt(buf: Buffer, pos: number, end: number, ref: Frame | undefined): boolean {
  let first = ref;
  for (let n = 0; n < MIN_RUN; n++) {
    if (pos === end && n > 0) return true;
    const h = parseHeader(buf, pos);
    if (!h || pos + h.length > end || (first && !sameStream(first, h))) return false;
    first ??= h;
    pos += h.length;
  }
  return true;
}

/** Next offset at or after `from` where a believable run of frames starts, or -1. */
function resync(buf: Buffer, from: number, end: number, ref: Frame | undefined): number {
  for (let pos = buf.indexOf(0xff, from); pos !== -1 && pos + 4 <= end; pos = buf.indexOf(0xff, pos + 1)) {
    if (runStartsAt(buf, pos, end, ref)) return pos;
  }
  return -1;
}

/** A Xing/Info (LAME, CBR or VBR) or VBRI (Fraunhofer) header frame: metadata, not sound. */
function isInfoFrame(buf: Buffer, frame: Frame): boolean {
  const xingAt = frame.offset + frame.mainDataOffset;
  const xing = buf.toString('latin1', xingAt, xingAt + 4);
  return xing === 'Xing' || xing === 'Info' || buf.toString('latin1', frame.offset + 36, frame.offset + 40) === 'VBRI';
}

/** Walks every whole frame between the tags, resyncing over junk and dropping a truncated last frame. */
function readFrames(buf: Buffer): { frames: Frame[]; audioStart: number; audioEnd: number } {
  const start = skipId3v2(buf);
  const end = trailerStart(buf, start);
  const frames: Frame[] = [];
  let pos = resync(buf, start, end, undefined);
  while (pos !== -1 && pos < end) {
    const h = parseHeader(buf, pos);
    if (h && pos + h.length <= end && sameStream(frames[0] ?? h, h)) {
      frames.push(h);
      pos += h.length;
    } else {
      pos = resync(buf, pos + 1, end, frames[0]);
    }
  }
  if (frames.length === 0) throw new NotMp3Error('no MPEG Layer III frames found');
  const last = frames[frames.length - 1];
  const audioStart = frames[0].offset;
  if (isInfoFrame(buf, frames[0])) frames.shift();
  if (frames.length === 0) throw new NotMp3Error('only a VBR header frame, no audio');
  return { frames, audioStart, audioEnd: last.offset + last.length };
}

export function scanMp3(buf: Buffer): Mp3Info {
  return infoOf(readFrames(buf));
}

/**
 * scanMp3 and cutPreview in one walk over the frames (the importer needs both of every file). The
 * preview is a view into `buf` when its frames lie end to end, as they do in a clean file: it lives
 * no longer than the file's bytes, and copying it was a fifth of the importer's allocations.
 */
export function scanAndCutPreview(buf: Buffer, startSeconds: number, lengthSeconds: number): { info: Mp3Info; preview: Buffer } {
  const scanned = readFrames(buf);
  return { info: infoOf(scanned), preview: previewOf(buf, scanned.frames, startSeconds, lengthSeconds, false) };
}

function infoOf({ frames, audioStart, audioEnd }: ReturnType<typeof readFrames>): Mp3Info {
  const { sampleRate, channels, samples } = frames[0];
  const kbpsSum = frames.reduce((sum, f) => sum + f.bitrateKbps, 0);
  return {
    audioStart,
    audioEnd,
    frameCount: frames.length,
    durationSeconds: (frames.length * samples) / sampleRate,
    // Every frame lasts equally long, so the mean of the frame bitrates is the average bitrate.
    bitrateKbps: Math.round(kbpsSum / frames.length),
    sampleRate,
    channels,
  };
}

/** The audio frames (no VBR header frame) as views into `buf`, for splicing streams frame by frame. */
export function audioFrames(buf: Buffer): Buffer[] {
  return readFrames(buf).frames.map((f) => buf.subarray(f.offset, f.offset + f.length));
}

/**
 * The main data of a Layer III frame may start up to 511 bytes back, inside earlier frames
 * (the "bit reservoir"). Returns how many earlier frames must be kept for `frames[index]` to decode;
 * the decoder drops those lead-in frames itself, as they lack their own reservoir.
 */
function reservoirLeadIn(buf: Buffer, frames: Frame[], index: number): number {
  const frame = frames[index];
  const sideInfo = frame.offset + frame.sideInfoOffset;
  // main_data_begin: the first 9 (MPEG-1) or 8 (MPEG-2/2.5) bits of the side info.
  let needed = frame.versionBits === 3 ? buf.readUInt16BE(sideInfo) >> 7 : buf[sideInfo];
  let lead = 0;
  while (needed > 0 && index - lead > 0) {
    lead++;
    const prev = frames[index - lead];
    needed -= prev.length - prev.mainDataOffset;
  }
  return lead;
}

/**
 * Whole frames covering [start, start + length) seconds. If the track ends before start + length the
 * window slides back, and a track shorter than `length` is returned whole. The output is a bare frame
 * sequence with no tags, which browsers play as is.
 */
export function cutPreview(buf: Buffer, startSeconds: number, lengthSeconds: number): Buffer {
  return previewOf(buf, readFrames(buf).frames, startSeconds, lengthSeconds, true);
}

function previewOf(buf: Buffer, frames: Frame[], startSeconds: number, lengthSeconds: number, copy: boolean): Buffer {
  if (!(lengthSeconds > 0)) throw new RangeError(`preview length must be positive, got ${lengthSeconds}`);
  const frameSeconds = frames[0].samples / frames[0].sampleRate;
  const total = frames.length * frameSeconds;
  const start = Math.max(0, Math.min(startSeconds, total - lengthSeconds));
  const first = Math.floor(start / frameSeconds);
  const last = Math.min(frames.length, Math.ceil((start + lengthSeconds) / frameSeconds));
  const kept = frames.slice(first - reservoirLeadIn(buf, frames, first), last);
  const from = kept[0].offset;
  const to = kept[kept.length - 1].offset + kept[kept.length - 1].length;
  // Copied frame by frame when junk skipped while scanning sits between them; else in one piece.
  if (to - from === kept.reduce((sum, f) => sum + f.length, 0)) return copy ? Buffer.from(buf.subarray(from, to)) : buf.subarray(from, to);
  return Buffer.concat(kept.map((f) => buf.subarray(f.offset, f.offset + f.length)));
}
