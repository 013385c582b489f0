/**
 * VAT in VAT-inclusive prices, in whole pence. The rule (docs/labels.md): the VAT of each order
 * line is gross × rate / (100 + rate), rounded half up to a penny; an order's VAT is the sum of
 * its lines'. A refund's VAT is exactly the VAT of what it refunds, negated, so a sale and its
 * refund cancel to the penny. Rates are basis points (2000 = 20%).
 */
export function vatInGross(grossPence: number, basisPoints: number): number {
  if (grossPence < 0) return -vatInGross(-grossPence, basisPoints);
  const denominator = 10_000 + basisPoints;
  // round-half-up(a / d) for whole a, d > 0 is floor((2a + d) / 2d): integers only, no float error.
  return Math.floor((2 * grossPence * basisPoints + denominator) / (2 * denominator));
}

export function orderVat(lines: { price_pence: number }[], basisPoints: number): number {
  return lines.reduce((sum, line) => sum + vatInGross(line.price_pence, basisPoints), 0);
}

export const vatRateText = (basisPoints: number) => `${basisPoints / 100}%`;

/** Who sold it, as receipts say: the company and its VAT number (when registered). */
export interface Seller {
  companyName: string;
  vatNumber: string | null;
}
