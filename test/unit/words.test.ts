import { describe, expect, it } from 'vitest';
import { prefixUpperBound, searchWords, slugify } from '../../src/catalogue/words.js';
import { formatDuration, formatPrice, pageLink } from '../../src/web/view-helpers.js';

describe('search words', () => {
  it('lowercases, strips accents and punctuation, and drops repeats', () => {
    expect(searchWords("Beyoncé's  Déjà-Vu (Live) déjà")).toEqual(['beyonce', 's', 'deja', 'vu', 'live']);
    expect(searchWords('AC/DC — Back in Black')).toEqual(['ac', 'dc', 'back', 'in', 'black']);
    expect(searchWords('  ')).toEqual([]);
  });

  it('bounds a prefix range so every word starting with it falls inside and no other', () => {
    const upper = prefixUpperBound('beat');
    for (const word of ['beat', 'beatles', 'beatz', 'beat\u{10ffff}'.slice(0, 5)]) {
      expect(word >= 'beat' && word < upper).toBe(true);
    }
    for (const word of ['beau', 'bea', 'beas']) expect(word >= 'beat' && word < upper).toBe(false);
    expect(prefixUpperBound('naïve')).toBe('naïvf');
  });

  it('makes URL slugs', () => {
    expect(slugify('The Beatles: Help!')).toBe('the-beatles-help');
    expect(slugify('Sigur Rós')).toBe('sigur-ros');
    expect(slugify('!!!')).toBe('untitled');
  });
});

describe('view formatting', () => {
  it('formats pence as pounds and milliseconds as a clock', () => {
    expect(formatPrice(79)).toBe('£0.79');
    expect(formatPrice(69900)).toBe('£699.00');
    expect(formatDuration(61_400)).toBe('1:01');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
  });

  it('links to another page of a listing, keeping its parameters', () => {
    expect(pageLink('/search', { q: 'a b', type: 'track' }, 2)).toBe('/search?q=a+b&type=track&page=2');
    expect(pageLink('/genre/rock', {}, 1)).toBe('/genre/rock');
  });
});
