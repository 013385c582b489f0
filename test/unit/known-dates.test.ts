import { describe, expect, it } from 'vitest';
import { storedReleaseDate } from '../../src/catalogue/importer/importer.js';
import { formatDateTime, formatKnownDate, releaseKindWord } from '../../src/web/view-helpers.js';

describe('dates shown as far as they are known', () => {
  it('keeps a tag date with its precision, never making a year into 1 January', () => {
    expect(storedReleaseDate('2019')).toEqual({ releaseDate: '2019-01-01', releaseDatePrecision: 'year' });
    expect(storedReleaseDate('2019-06')).toEqual({ releaseDate: '2019-06-01', releaseDatePrecision: 'month' });
    expect(storedReleaseDate('2019-06-14')).toEqual({ releaseDate: '2019-06-14', releaseDatePrecision: 'day' });
    expect(storedReleaseDate(undefined)).toEqual({ releaseDate: null, releaseDatePrecision: 'day' });
  });

  it('shows a year, a month or a day', () => {
    expect(formatKnownDate('2019-01-01', 'year')).toBe('2019');
    expect(formatKnownDate('2019-06-01', 'month')).toBe('June 2019');
    expect(formatKnownDate('2019-01-01', 'day')).toBe('1 January 2019');
    expect(formatKnownDate(null, 'day')).toBe('');
  });

  it('writes a database time as people read it', () => {
    expect(formatDateTime('2026-12-07 14:05:09')).toBe('7 December 2026, 14:05 UTC');
    expect(formatDateTime('2026-01-31 00:00:00')).toBe('31 January 2026, 00:00 UTC');
  });

  it('names a release type inside a sentence: EP keeps its capitals', () => {
    expect(['ep', 'album', 'single'].map(releaseKindWord)).toEqual(['EP', 'album', 'single']);
  });
});
