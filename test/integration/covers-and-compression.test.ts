import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { parse } from 'node-html-parser';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { variantPath } from '../../src/catalogue/cover-variants.js';
import { createMediaFiles } from '../../src/media/media-files.js';
import { createMediaStorage } from '../../src/media/index.js';
import { databaseKinds } from '../helpers/databases.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/** Each visitor's own form token is filled into a shared page: pages are compared without it. */
const withoutToken = (html: string) => html.replace(/name="_csrf" value="[^"]+"/g, '');

/** A cover as a label delivers it: 600 px square, in the given format. */
const deliveredCover = (format: 'png' | 'jpeg') =>
  sharp({ create: { width: 600, height: 600, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    [format]()
    .toBuffer();

describe.each(databaseKinds())('covers at the size shown, and compressed pages, on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let pngRelease: { id: number; slug: string; cover: string };
  let jpegRelease: { id: number; slug: string; cover: string };
  const get = (p: string, headers: Record<string, string> = {}) => fetch(store.baseUrl + p, { headers, redirect: 'manual' });
  const imageOf = async (response: Response) => sharp(Buffer.from(await response.arrayBuffer())).metadata();

  beforeAll(async () => {
    if (skip) return;
    // The visitor page cache on, as in production: its pages are kept compressed.
    store = await startTestStore(kind, { env: { CATALOGUE_CACHE_SECONDS: '60' } });
    const media = createMediaFiles(createMediaStorage(store.config.media.storage));
    const releases = await store.database.db.selectFrom('releases').select(['id', 'slug']).orderBy('id').limit(2).execute();
    const withCover = async (release: { id: number; slug: string }, format: 'png' | 'jpeg') => {
      const cover = await media.saveCover(await deliveredCover(format), format === 'png' ? 'png' : 'jpg');
      await store.database.db.updateTable('releases').set({ cover_file: cover }).where('id', '=', release.id).execute();
      return { ...release, cover };
    };
    pngRelease = await withCover(releases[0]!, 'png');
    jpegRelease = await withCover(releases[1]!, 'jpeg');
  });
  afterAll(async () => store?.close());

  it.skipIf(skip)('serves each cover at the size it is shown, in WebP and in its own format', async () => {
    for (const [size, width] of [
      ['thumb', 96],
      ['card', 480],
      ['large', 600], // never enlarged past the delivered 600 px
    ] as const) {
      const webp = await get(`/cover/${pngRelease.id}/${size}.webp`);
      expect(webp.status).toBe(200);
      expect(webp.headers.get('content-type')).toBe('image/webp');
      expect(webp.headers.get('cache-control')).toContain('immutable');
      expect(await imageOf(webp)).toMatchObject({ format: 'webp', width, height: width });

      const png = await get(`/cover/${pngRelease.id}/${size}`);
      expect(png.headers.get('content-type')).toBe('image/png');
      expect(await imageOf(png)).toMatchObject({ format: 'png', width, height: width });
    }
    const jpeg = await get(`/cover/${jpegRelease.id}/thumb`);
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    expect(await imageOf(jpeg)).toMatchObject({ format: 'jpeg', width: 96 });
    // The original stays available as it was delivered.
    expect(await imageOf(await get(`/cover/${pngRelease.id}`))).toMatchObject({ format: 'png', width: 600 });
  });

  it.skipIf(skip)('makes a variant once and serves the stored one afterwards', async () => {
    const stored = path.join(store.config.mediaDir, variantPath(jpegRelease.cover, 'card', 'webp'));
    expect(fs.existsSync(stored)).toBe(false);
    const first = Buffer.from(await (await get(`/cover/${jpegRelease.id}/card.webp`)).arrayBuffer());
    expect(fs.readFileSync(stored).equals(first)).toBe(true);
    // Changed on disk: the next request sends the stored bytes instead of making them again.
    const marked = await sharp(first).webp({ quality: 10 }).toBuffer();
    fs.writeFileSync(stored, marked);
    expect(Buffer.from(await (await get(`/cover/${jpegRelease.id}/card.webp`)).arrayBuffer()).equals(marked)).toBe(true);
  });

  it.skipIf(skip)('refuses sizes and formats it does not make', async () => {
    for (const p of [
      `/cover/${pngRelease.id}/huge.webp`,
      `/cover/${pngRelease.id}/thumb.gif`,
      `/cover/${pngRelease.id}/thumb.webp.webp`,
      '/cover/0/thumb',
      '/cover/999999/card.webp',
    ]) {
      expect((await get(p)).status, p).toBe(404);
    }
  });

  it.skipIf(skip)('pages point at the sized covers: WebP first, the cover’s own format as the fallback', async () => {
    const release = parse(await (await get(`/release/${pngRelease.slug}`)).text());
    const picture = release.querySelector('.release__cover picture')!;
    expect(picture.querySelector('source')!.getAttribute('type')).toBe('image/webp');
    expect(picture.querySelector('source')!.getAttribute('srcset')).toMatch(new RegExp(`^/cover/${pngRelease.id}/large\\.webp\\?v=\\d+$`));
    expect(picture.querySelector('img')!.getAttribute('src')).toMatch(new RegExp(`^/cover/${pngRelease.id}/large\\?v=\\d+$`));
    const home = parse(await (await get('/')).text());
    const sources = home.querySelectorAll('picture source').map((s) => s.getAttribute('srcset')!);
    expect(sources.some((s) => /\/thumb\.webp\?/.test(s))).toBe(true);
    expect(sources.some((s) => /\/card\.webp\?/.test(s))).toBe(true);
    expect(home.querySelectorAll('img.cover').every((img) => /^\/cover\/\d+\/(thumb|card)\?v=\d+$/.test(img.getAttribute('src')!))).toBe(
      true,
    );
  });

  it.skipIf(skip)('compresses HTML, CSS and JavaScript for a client that accepts it, and only then', async () => {
    for (const p of ['/search?q=a', '/static/css/store.css', '/static/js/player.js']) {
      const plain = await rawResponse(store.baseUrl + p, 'identity');
      expect(plain.headers['content-encoding'], p).toBeUndefined();
      const text = withoutToken(plain.body.toString());
      const gzip = await fetch(store.baseUrl + p, { headers: { 'accept-encoding': 'gzip' } }).then(async (r) => ({
        encoding: r.headers.get('content-encoding'),
        vary: r.headers.get('vary'),
      }));
      expect(gzip, p).toMatchObject({ encoding: 'gzip' });
      expect(gzip.vary, p).toMatch(/accept-encoding/i);
      // fetch() decodes what it is given: read the raw bytes with node's http instead.
      expect(withoutToken(gunzipSync(await rawBody(store.baseUrl + p, 'gzip')).toString()), p).toBe(text);
      expect(withoutToken(brotliDecompressSync(await rawBody(store.baseUrl + p, 'br')).toString()), p).toBe(text);
    }
  });

  it.skipIf(skip)('sends a page cached for visitors compressed to a client that accepts it, and plain to one that does not', async () => {
    const first = await rawResponse(`${store.baseUrl}/`, 'gzip, br');
    const again = await rawResponse(`${store.baseUrl}/`, 'gzip, br');
    expect(again.headers['content-encoding']).toBe('br');
    expect(again.headers.vary).toMatch(/accept-encoding/i);
    const html = withoutToken(brotliDecompressSync(again.body).toString());
    expect(html).toBe(withoutToken(brotliDecompressSync(first.body).toString()));
    const gzip = await rawResponse(`${store.baseUrl}/`, 'gzip');
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(withoutToken(gunzipSync(gzip.body).toString())).toBe(html);
    const plain = await rawResponse(`${store.baseUrl}/`, 'identity');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(withoutToken(plain.body.toString())).toBe(html);
  });
});

function rawResponse(url: string, acceptEncoding: string): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const rawBody = async (url: string, encoding: string) => {
  const response = await rawResponse(url, encoding);
  expect(response.headers['content-encoding']).toBe(encoding);
  return response.body;
};
