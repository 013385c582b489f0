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

/** Compresses each fixed piece once (at the level a response compressed once can afford). */
export function compressPieces(plain: Piece[]): CompressedPieces {
  const deflated = plain.map((piece) =>
    typeof piece === 'number' ? piece : deflateRawSync(piece, { level: 9, finishFlush: constants.Z_FULL_FLUSH }),
  );
  return { plain, deflated };
}

/** ID1 ID2, deflate, no flags, no modification time, no extra flags, operating system unknown. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
/** An empty stored block marked final: ends the DEFLATE stream. */
const FINAL_BLOCK = Buffer.from([1, 0, 0, 0xff, 0xff]);
const STORED_MAX = 0xffff;

/** A hole's bytes as stored blocks: a byte of block type (not final, stored), LEN and its ones' complement, the bytes. */
function storedBlocks(bytes: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  for (let start = 0; start < bytes.length; start += STORED_MAX) {
    const chunk = bytes.subarray(start, start + STORED_MAX);
    const head = Buffer.alloc(5);
    head.writeUInt16LE(chunk.length, 1);
    head.writeUInt16LE(~chunk.length & 0xffff, 3);
    blocks.push(head, chunk);
  }
  return blocks;
}

/** The page with these values in its holes, as plain bytes. */
export function filledPlain(page: CompressedPieces, holes: Buffer[]): Buffer {
  return Buffer.concat(page.plain.map((piece) => (typeof piece === 'number' ? holes[piece]! : piece)));
}

/** The page with these values in its holes, as a gzip member: the same bytes as filledPlain once gunzipped. */
export function filledGzip(page: CompressedPieces, holes: Buffer[]): Buffer {
  const out: Buffer[] = [GZIP_HEADER];
  let crc = 0;
  let size = 0;
  page.plain.forEach((piece, i) => {
    const bytes = typeof piece === 'number' ? holes[piece]! : piece;
    crc = crc32(bytes, crc);
    size += bytes.length;
    if (typeof piece === 'number') out.push(...storedBlocks(bytes));
    else out.push(page.deflated[i] as Buffer);
  });
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(size % 2 ** 32, 4);
  out.push(FINAL_BLOCK, trailer);
  return Buffer.concat(out);
}
