/**
 * Whether a release can be bought today, from its deal's sale window (releases.on_sale_from and
 * on_sale_until, UTC dates, both inclusive). A release without a window is on sale.
 */
export type Availability = { state: 'on-sale' } | { state: 'upcoming'; from: string } | { state: 'ended'; until: string };

export const todayUtc = (now: Date) => now.toISOString().slice(0, 10);

export function availabilityOn(today: string, window: { from: string | null; until: string | null }): Availability {
  if (window.from && window.from > today) return { state: 'upcoming', from: window.from };
  if (window.until && window.until < today) return { state: 'ended', until: window.until };
  return { state: 'on-sale' };
}
