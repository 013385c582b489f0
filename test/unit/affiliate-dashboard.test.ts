import { describe, expect, it } from 'vitest';
import { allTime, monthLabel, monthsChart, recentMonths } from '../../src/affiliates/dashboard.js';
import { wholeCeiling } from '../../src/web/bar-chart.js';
import type { MonthFigures } from '../../src/affiliates/repository.js';

const figures = (month: string, visits: number, orders: number, pending = 0): MonthFigures => ({
  month,
  visits,
  orders,
  conversionPercent: visits > 0 ? Math.round((orders / visits) * 1000) / 10 : null,
  pence: { pending, approved: 0, paid: 0, rejected: 0 },
});

describe("the affiliate's dashboard figures", () => {
  it('reads months as a person does', () => {
    expect(monthLabel('2026-12')).toBe('Dec 2026');
    expect(monthLabel('2027-01')).toBe('Jan 2027');
  });

  it('charts the last twelve months up to now, oldest first, with zeros where nothing happened, across a year end', () => {
    const months = recentMonths([figures('2026-12', 5, 1), figures('2025-06', 9, 9)], new Date('2027-02-10T12:00:00Z'));
    expect(months.map((m) => m.month)).toEqual([
      '2026-03',
      '2026-04',
      '2026-05',
      '2026-06',
      '2026-07',
      '2026-08',
      '2026-09',
      '2026-10',
      '2026-11',
      '2026-12',
      '2027-01',
      '2027-02',
    ]);
    expect(months.find((m) => m.month === '2026-12')).toMatchObject({ visits: 5, orders: 1 });
    expect(months.filter((m) => m.visits > 0)).toHaveLength(1);
  });

  it('adds every month up for the totals row, conversion from the sums', () => {
    expect(allTime([figures('2026-11', 10, 1, 150), figures('2026-12', 30, 3, 450)])).toEqual({
      visits: 40,
      orders: 4,
      conversionPercent: 10,
      pence: { pending: 600, approved: 0, paid: 0, rejected: 0 },
    });
    expect(allTime([]).conversionPercent).toBeNull();
  });

  it('tops a count axis so every gridline is a whole number', () => {
    expect([0, 1, 3, 4, 9, 20, 37, 123].map(wholeCeiling)).toEqual([4, 4, 4, 4, 12, 20, 40, 200]);
  });

  it('draws visits and orders side by side with a legend, whole-number gridlines and a label under every month', () => {
    const svg = monthsChart([figures('2026-12', 3, 1)], new Date('2026-12-07T00:00:00Z'));
    expect(svg.match(/<rect class="chart__visits"/g)).toHaveLength(12);
    expect(svg.match(/<rect class="chart__orders"/g)).toHaveLength(12);
    expect(svg).toContain('>Visits</text>');
    expect(svg).toContain('>Orders</text>');
    expect([...svg.matchAll(/text-anchor="end" font-size="11">([^<]+)</g)].map((m) => m[1])).toEqual(['0', '1', '2', '3', '4']);
    expect(svg).toContain('>Jan 2026</text>');
    expect(svg).toContain('>Dec 2026</text>');
    expect(svg).toContain('<title>Dec 2026: 1 order</title>');
    expect(svg).toMatch(/aria-label="Visits and orders per month, Jan 2026 to Dec 2026: 3 visits, 1 orders"/);
  });
});
