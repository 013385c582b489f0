/** Formatting used by every view: money appears only here, as pounds and pence. */

const gbp = new Intl.NumberFormat('en-GB', { style: 'currency', currency: 'GBP' });

export function formatPrice(pence: number): string {
  return gbp.format(pence / 100);
}

export function formatDuration(ms: number): string {
  const totalSeconds = Math.round(ms / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = String(totalSeconds % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

// One formatter, built once: constructing Intl formatters costs far more than using them.
const longDate = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });

export function formatDate(isoDate: string | null): string {
  return isoDate ? longDate.format(new Date(`${isoDate.slice(0, 10)}T00:00:00Z`)) : '';
}

/** "/cover/42?v=7" shown as a card in WebP: "/cover/42/card.webp?v=7" (see src/catalogue/cover-variants.ts). */
export function coverVariantUrl(coverUrl: string, size: 'thumb' | 'card' | 'large', format?: 'webp'): string {
  const [base, version] = coverUrl.split('?');
  return `${base}/${size}${format ? `.${format}` : ''}${version ? `?${version}` : ''}`;
}

const monthAndYear = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });

/** A date shown only as far as it is known: 14 June 2019, June 2019, or 2019. */
export function formatKnownDate(isoDate: string | null, precision: 'day' | 'month' | 'year'): string {
  if (!isoDate) return '';
  if (precision === 'year') return isoDate.slice(0, 4);
  if (precision === 'month') return monthAndYear.format(new Date(`${isoDate.slice(0, 7)}-01T00:00:00Z`));
  return formatDate(isoDate);
}

const dateAndTime = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'long',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
  timeZone: 'UTC',
});

/** A database time ('YYYY-MM-DD HH:MM:SS', UTC) as people read it: 7 December 2026, 14:05 UTC. */
export function formatDateTime(dbTime: string | null): string {
  if (!dbTime) return '';
  const parts = Object.fromEntries(
    dateAndTime.formatToParts(new Date(`${dbTime.slice(0, 19).replace(' ', 'T')}Z`)).map((p) => [p.type, p.value]),
  );
  return `${parts.day} ${parts.month} ${parts.year}, ${parts.hour}:${parts.minute} UTC`;
}

const KIND_LABELS: Record<string, string> = { album: 'Album', ep: 'EP', single: 'Single' };
export function releaseKindLabel(kind: string): string {
  return KIND_LABELS[kind] ?? kind;
}

/** The release type inside a sentence: "Buy album", "for the whole EP" (an abbreviation keeps its capitals). */
export function releaseKindWord(kind: string): string {
  const label = releaseKindLabel(kind);
  return label === label.toUpperCase() ? label : label.toLowerCase();
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Builds a link to another page of the same listing, keeping the other query parameters. */
export function pageLink(basePath: string, params: Record<string, string | number | undefined>, page: number): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...params, page: page > 1 ? page : undefined })) {
    if (value !== undefined && String(value) !== '') query.set(key, String(value));
  }
  const qs = query.toString();
  return qs ? `${basePath}?${qs}` : basePath;
}

export const viewHelpers = {
  formatPrice,
  formatDuration,
  formatDate,
  formatKnownDate,
  formatDateTime,
  releaseKindLabel,
  releaseKindWord,
  plural,
  pageLink,
  coverVariantUrl,
};
