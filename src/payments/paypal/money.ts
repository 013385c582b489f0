/** PayPal writes money as decimal strings ("7.99"); the store counts whole pence. */
export function penceToValue(pence: number): string {
  return (pence / 100).toFixed(2);
}

export function valueToPence(value: string): number {
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(value);
  if (!match) throw new Error('unreadable amount');
  return Number(match[1]) * 100 + Number((match[2] ?? '0').padEnd(2, '0'));
}
