import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compressPieces, filledGzip, filledPlain, type Piece } from '../../src/web/gzip-with-holes.js';

const text = (s: string) => Buffer.from(s);
/** A page-like piece: repetitive markup, which compresses, with some noise, which does not. */
const markup = (n: number) =>
  text(`<li class="track"><a href="/t/${n}">Track ${n}</a> ${randomBytes(8).toString('hex')}</li>\n`.repeat(40));

describe('a page compressed once, its holes filled per response', () => {
  it('gunzips to exactly the filled page, with holes at the start, the end, side by side and empty', () => {
    const plain: Piece[] = [0, markup(1), 1, markup(2), 0, 1, markup(3), 2];
    const page = compressPieces(plain);
    for (const holes of [
      [text('token-abc'), text('3'), text('')],
      [text(randomBytes(40).toString('base64url')), text('12'), text('é ü — multi-byte')],
    ]) {
      const gz = filledGzip(page, holes);
      expect(gunzipSync(gz)).toEqual(filledPlain(page.plain, holes));
      expect(filledPlain(page.plain, holes).toString()).toContain(holes[0]!.toString());
    }
  });

  it('is smaller than the page: the fixed pieces are compressed, only the holes are stored', () => {
    const page = compressPieces([markup(1), 0, markup(2)]);
    const holes = [text('x'.repeat(43))];
    const plain = filledPlain(page.plain, holes);
    const gz = filledGzip(page, holes);
    expect(gz.length).toBeLessThan(plain.length / 2);
  });

  it('stores a hole longer than one stored block can hold (64 KB) in several', () => {
    const page = compressPieces([markup(1), 0, markup(2)]);
    const long = randomBytes(70_000);
    expect(gunzipSync(filledGzip(page, [long]))).toEqual(filledPlain(page.plain, [long]));
  });

  it('changes its checksum with what is in the holes (a corrupted hole fails to gunzip)', () => {
    const page = compressPieces([markup(1), 0]);
    const gz = filledGzip(page, [text('abc')]);
    const at = gz.indexOf(text('abc'));
    gz[at] = 'x'.charCodeAt(0);
    expect(() => gunzipSync(gz)).toThrow(/check/i);
  });
});

describe('what a page cache keeps', () => {
  it('keeps each compressed piece in memory of its own size, not a view of zlib’s 16 KB output buffer', () => {
    const page = compressPieces([markup(1), 0, text('<p>'), 1, markup(2)]);
    for (const piece of page.deflated.filter((p): p is Buffer => typeof p !== 'number')) expect(piece.buffer.byteLength).toBe(piece.length);
  });
});
