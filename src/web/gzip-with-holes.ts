import { constants, crc32, deflateRawSync } from 'node:zlib';

/**
 * A page kept in pieces around holes (a shopper's CSRF token, their basket count), sent gzipped
 * without compressing it again for each shopper: every fixed piece is compressed once, and each
 * response strings them together with the holes' own bytes between them as stored (uncompressed)
 * blocks, inside one gzip frame (RFC 1952) whose checksum covers the whole page.
 *
 * This is valid DEFLATE (RFC 1951) because each piece is compressed on its own and ended with a
 * full flush: its blocks refer to nothing before it and end on a byte boundary, so any blocks may
 * follow. The cost per response is a CRC-32 over the page instead of gzip or brotli over it (bench:
 * compressing each shopper's page took as much CPU again as the rest of the request).
 */
export type Piece = Buffer | number;

/** A page's pieces as kept: each fixed piece with its compressed blocks; a number is a hole, named by its index. */
export interface CompressedPieces {
  plain: Piece[];
  deflated: Piece[];
}

/**
 * Bytes to keep in a cache, in memory of their own. A small Buffer made from a string is a slice of
 * Node's shared pool, and zlib's synchronous output is a view of a 16 KB buffer however small it is:
 * a kept piece (21 bytes of deflate, say) would hold all of it (the purchase bench's peak RSS rose
 * 80 MB).
 */
export function ownBytes(content: string | Buffer): Buffer {
  const own = Buffer.allocUnsafeSlow(typeof content === 'string' ? Buffer.byteLength(content) : content.length);
  if (typeof content === 'string') own.write(content);
  else content.copy(own);
  return own;
}

/** A page's text as pieces: each of `markers` in it becomes a hole numbered by its place in `markers`. */
export function piecesOf(text: string, markers: string[]): Piece[] {
  const splitter = new RegExp(`(${markers.map((m) => m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`);
  return text.split(splitter).map((part) => (markers.includes(part) ? markers.indexOf(part) : ownBytes(part)));
}

/** Compresses each fixed piece once (at the level a response compressed once can afford). */
export function compressPieces(plain: Piece[]): CompressedPieces {
  const deflated = plain.map((piece) =>
    typeof piece === 'number' ? piece : ownBytes(deflateRawSync(piece, { level: 9, finishFlush: constants.Z_FULL_FLUSH })),
  );
  return { plain, deflated };
}

/** What a page's pieces hold, both forms, in bytes (for a cache's size). */
export const piecesBytes = (page: CompressedPieces) =>
  [...page.plain, ...page.deflated].reduce<number>((n, piece) => n + (typeof piece === 'number' ? 0 : piece.length), 0);

/** ID1 ID2, deflate, no flags, no modification time, no extra flags, operating system unknown. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** An empty stored block marked final: ends the DEFLATE stream. */
const FINAL_BLOCK = Buffer.from([1, 0, 0, 0xff, 0xff]);
const STORED_MAX = 0xffff;

/** What a hole of `length` bytes takes as stored blocks: 5 bytes of head per block of up to 64 KB, one block at least. */
const storedLength = (length: number) => length + 5 * Math.max(1, Math.ceil(length / STORED_MAX));

/** Writes a hole's bytes as stored blocks at `at`: a byte of block type (not final, stored), LEN and its ones' complement, the bytes. */
function writeStored(out: Buffer, at: number, bytes: Buffer): number {
  let start = 0;
  do {
    const length = Math.min(STORED_MAX, bytes.length - start);
    out[at] = 0;
    out.writeUInt16LE(length, at + 1);
    out.writeUInt16LE(~length & 0xffff, at + 3);
    at += 5 + bytes.copy(out, at + 5, start, start + length);
    start += length;
  } while (start < bytes.length);
  return at;
}

/** The page with these values in its holes, as plain bytes. */
export function filledPlain(plain: Piece[], holes: Buffer[]): Buffer {
  return Buffer.concat(plain.map((piece) => (typeof piece === 'number' ? holes[piece]! : piece)));
}

/**
 * The page with these values in its holes, as a gzip member: the same bytes as filledPlain once
 * gunzipped. Written into one buffer sized first (a page has a hole in every form: a buffer per hole
 * was a tenth of what a request allocated).
 */
export function filledGzip(page: CompressedPieces, holes: Buffer[]): Buffer {
  const sizeOf = (piece: Piece, i: number) =>
    typeof piece === 'number' ? storedLength(holes[piece]!.length) : (page.deflated[i] as Buffer).length;
  const length = page.plain.reduce<number>((n, piece, i) => n + sizeOf(piece, i), GZIP_HEADER.length + FINAL_BLOCK.length + 8);
  const out = Buffer.allocUnsafe(length);
  let at = GZIP_HEADER.copy(out, 0);
  let crc = 0;
  let size = 0;
  page.plain.forEach((piece, i) => {
    const bytes = typeof piece === 'number' ? holes[piece]! : piece;
    crc = crc32(bytes, crc);
    size += bytes.length;
    at = typeof piece === 'number' ? writeStored(out, at, bytes) : at + (page.deflated[i] as Buffer).copy(out, at);
  });
  at += FINAL_BLOCK.copy(out, at);
  out.writeUInt32LE(crc >>> 0, at);
  out.writeUInt32LE(size % 2 ** 32, at + 4);
  return out;
}
