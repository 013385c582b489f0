/** Money typed by an operator: pounds with at most two decimals ("6.99", "£6.99", "7"), kept as whole pence. */
export const MAX_PRICE_PENCE = 1_000_000;

/** Pence, null for an empty field (meaning "the default"), or undefined when the text is not an amount. */
export function parsePounds(typed: string): number | null | undefined {
  const text = typed.trim().replace(/^£/, '');
  if (text === '') return null;
  const match = /^(\d{1,5})(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) return undefined;
  const pence = Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
  return pence <= MAX_PRICE_PENCE ? pence : undefined;
}

/** The form's text for a price in pence: "6.99", or empty for the default. */
export function poundsText(pence: number | null): string {
  return pence === null ? '' : (pence / 100).toFixed(2);
}
