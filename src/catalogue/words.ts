import slugifyText from '@sindresorhus/slugify';

/** Longest word kept in the search index (the column is varchar(64)). */
const MAX_TERM_LENGTH = 64;

/**
 * Splits text into the lowercase, accent-free words that search matches on. The same function
 * builds the index and reads the query, so "Beyoncé" is found by "beyon".
 */
export function searchWords(text: string): string[] {
  const words = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean)
    .map((w) => w.slice(0, MAX_TERM_LENGTH));
  return [...new Set(words)];
}

/** The smallest string greater than every string starting with `prefix`, for an index range scan. */
export function prefixUpperBound(prefix: string): string {
  const chars = [...prefix];
  const last = chars.pop()!.codePointAt(0)!;
  return chars.join('') + String.fromCodePoint(last + 1);
}

export function slugify(text: string): string {
  return slugifyText(text, { decamelize: false }).slice(0, 180) || 'untitled';
}
