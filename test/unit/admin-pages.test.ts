import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRate } from '../../src/admin/affiliates/routes.js';
import { parsePounds, poundsText } from '../../src/admin/catalogue/prices.js';
import { imageKind } from '../../src/admin/catalogue/service.js';
import { extractZip, safeEntryPath, ZipRefused } from '../../src/admin/catalogue/zip.js';
import { parseCustomerQuery } from '../../src/admin/customers/repository.js';
import { salesChart } from '../../src/admin/dashboard/chart.js';
import { niceCeiling } from '../../src/web/bar-chart.js';
import { dayStart, fillDays } from '../../src/admin/dashboard/service.js';
import { zipOf } from '../helpers/zip.js';

describe('sales chart', () => {
  it('draws one bar per day, scaled to a round top, with tooltips and an accessible name', () => {
    const svg = salesChart([
      { day: '2026-11-01', pence: 0, orders: 0 },
      { day: '2026-11-02', pence: 1500, orders: 2 },
      { day: '2026-11-03', pence: 699, orders: 1 },
    ]);
    expect(svg).toMatch(/^<svg [^>]*role="img"[^>]*aria-label="Sales per day: 3 days from 2026-11-01 to 2026-11-03, £21\.99 in all"/);
    expect(svg.match(/<rect class="chart__bar"/g)).toHaveLength(3);
    expect(svg).toContain('<title>2026-11-02: £15.00 from 2 orders</title>');
    expect(svg).toContain('<title>2026-11-03: £6.99 from 1 order</title>');
    expect(svg).toContain('>£20.00</text>'); // the axis top: 1500 rounds up to 2000
    // The tallest bar reaches the top of the plot; an empty day has no height.
    expect(svg).toMatch(/data-day="2026-11-01" data-pence="0" [^>]*height="0\.0"/);
  });

  it('escapes every piece of text', () => {
    const svg = salesChart([{ day: '<script>"&', pence: 1, orders: 1 }], 'A & <b>');
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;&quot;&amp;');
    expect(svg).toContain('aria-label="A &amp; &lt;b&gt;');
  });

  it('rounds the axis to 1, 2 or 5 times a power of ten', () => {
    expect([0, 1, 99, 101, 250, 501, 1999, 5001].map(niceCeiling)).toEqual([100, 1, 100, 200, 500, 1000, 2000, 10000]);
  });

  it('fills the quiet days with zeros, from the first day to today', () => {
    const now = new Date('2026-11-29T14:00:00Z');
    const days = fillDays([{ day: '2026-11-28', pence: 5, orders: 1 }], dayStart(now, 2), now);
    expect(days).toEqual([
      { day: '2026-11-27', pence: 0, orders: 0 },
      { day: '2026-11-28', pence: 5, orders: 1 },
      { day: '2026-11-29', pence: 0, orders: 0 },
    ]);
  });
});

describe('zip entries', () => {
  const root = path.resolve('/tmp/unpack');
  it('accepts plain relative paths', () => {
    expect(safeEntryPath(root, 'Artist/Album/01.mp3')).toBe(path.join(root, 'Artist/Album/01.mp3'));
  });
  it.each(['../evil.mp3', 'a/../../evil.mp3', '/etc/passwd', 'C:/x.mp3', 'a\\..\\b.mp3', 'x\0.mp3', ''])('refuses %j', (name) => {
    expect(() => safeEntryPath(root, name)).toThrow(ZipRefused);
  });
});

describe('operator input', () => {
  it('reads pounds as pence, empty as the default', () => {
    expect(['6.99', '£7', '0.5', '10000.00', '', ' 1.20 '].map(parsePounds)).toEqual([699, 700, 50, 1_000_000, null, 120]);
    expect(['6.999', '-1', 'abc', '1,50', '100000', '10000.01'].map(parsePounds)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect([699, null, 50].map(poundsText)).toEqual(['6.99', '', '0.50']);
  });

  it('reads a commission rate', () => {
    expect(parseRate('percent', '12.5')).toEqual({ rateBasisPoints: 1250, flatPence: null });
    expect(parseRate('flat', '0.50')).toEqual({ rateBasisPoints: null, flatPence: 50 });
    for (const [kind, value] of [
      ['percent', '101'],
      ['percent', '1.234'],
      ['flat', ''],
      ['other', '5'],
    ])
      expect(() => parseRate(kind, value)).toThrow();
  });

  it('understands what the customer search is given', () => {
    expect(parseCustomerQuery(' Someone@Example.com ')).toEqual({ by: 'email', email: 'someone@example.com' });
    expect(parseCustomerQuery('#42')).toEqual({ by: 'id', id: 42 });
    expect(parseCustomerQuery('nl-abcd-efgh-jkmn')).toEqual({ by: 'reference', reference: 'NL-ABCD-EFGH-JKMN' });
    expect(parseCustomerQuery('+44 7700 900123')).toEqual({ by: 'msisdn', msisdn: '447700900123' });
    expect(parseCustomerQuery('@example.com')).toEqual({ by: 'emailPart', text: '@example.com' });
    for (const junk of ['', 'ab', 'two words', '12']) expect(parseCustomerQuery(junk), junk).toBeNull();
  });

  it('knows a JPEG or PNG by its first bytes only', () => {
    expect(imageKind(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpg');
    expect(imageKind(Buffer.from('89504e470d0a1a0a0000', 'hex'))).toBe('png');
    expect(imageKind(Buffer.from('GIF89a'))).toBeNull();
    expect(imageKind(Buffer.from('<svg/>'))).toBeNull();
  });
});

describe('unpacking a zip', () => {
  const work = () => fs.mkdtempSync(path.join(os.tmpdir(), 'admin-zip-test-'));
  const write = (dir: string, bytes: Buffer) => {
    const file = path.join(dir, 'upload.zip');
    fs.writeFileSync(file, bytes);
    return file;
  };

  it('writes every file under the folder', async () => {
    const dir = work();
    const zip = write(
      dir,
      zipOf([
        { name: 'A/B/one.mp3', data: Buffer.from('one') },
        { name: 'two.txt', data: Buffer.from('two') },
      ]),
    );
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    expect(await extractZip(zip, out)).toBe(2);
    expect(fs.readFileSync(path.join(out, 'A/B/one.mp3'), 'utf8')).toBe('one');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stops at the entry and byte limits, and leaves the folder empty', async () => {
    const dir = work();
    const zip = write(
      dir,
      zipOf([
        { name: 'a.mp3', data: Buffer.alloc(600) },
        { name: 'b.mp3', data: Buffer.alloc(600) },
      ]),
    );
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    await expect(extractZip(zip, out, { maxEntries: 1, maxTotalBytes: 10_000 })).rejects.toThrow(/2 entries; at most 1/);
    await expect(extractZip(zip, out, { maxEntries: 10, maxTotalBytes: 1000 })).rejects.toThrow(ZipRefused);
    expect(fs.readdirSync(out)).toEqual([]);
    await expect(extractZip(write(dir, Buffer.from('not a zip')), out)).rejects.toThrow(/not a readable zip/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a zip-slip entry and writes nothing outside', async () => {
    const dir = work();
    const zip = write(
      dir,
      zipOf([
        { name: 'ok.mp3', data: Buffer.from('ok') },
        { name: '../slipped.mp3', data: Buffer.from('bad') },
      ]),
    );
    const out = path.join(dir, 'out');
    fs.mkdirSync(out);
    await expect(extractZip(zip, out)).rejects.toThrow(ZipRefused);
    expect(fs.existsSync(path.join(dir, 'slipped.mp3'))).toBe(false);
    expect(fs.readdirSync(out)).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
