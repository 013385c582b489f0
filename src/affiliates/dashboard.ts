/** What the affiliate's dashboard shows beyond the raw monthly rows: the chart's year, the totals. */
import { barChart } from '../web/bar-chart.js';
import type { MonthFigures } from './repository.js';

const CHART_MONTHS = 12;
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** 'YYYY-MM' as a person reads it: 'Dec 2026'. */
export function monthLabel(month: string): string {
  const [year, number] = month.split('-');
  return `${MONTH_NAMES[Number(number) - 1] ?? number} ${year}`;
}

/** The last `count` months up to `now`'s (UTC), oldest first, with zeros where nothing happened. */
export function recentMonths(months: MonthFigures[], now: Date, count = CHART_MONTHS): MonthFigures[] {
  const known = new Map(months.map((m) => [m.month, m]));
  return Array.from({ length: count }, (_, i) => {
    const key = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - (count - 1 - i), 1)).toISOString().slice(0, 7);
    return (
      known.get(key) ?? {
        month: key,
        visits: 0,
        orders: 0,
        conversionPercent: null,
        pence: { pending: 0, approved: 0, paid: 0, rejected: 0 },
      }
    );
  });
}

/** Every month added up: the totals row of the table and the figures above the chart. */
export function allTime(months: MonthFigures[]): Omit<MonthFigures, 'month'> {
  const sum = (pick: (m: MonthFigures) => number) => months.reduce((total, m) => total + pick(m), 0);
  const visits = sum((m) => m.visits);
  const orders = sum((m) => m.orders);
  return {
    visits,
    orders,
    conversionPercent: visits > 0 ? Math.round((orders / visits) * 1000) / 10 : null,
    pence: {
      pending: sum((m) => m.pence.pending),
      approved: sum((m) => m.pence.approved),
      paid: sum((m) => m.pence.paid),
      rejected: sum((m) => m.pence.rejected),
    },
  };
}

/** Visits and orders per month over the last year, as a server-drawn bar chart with a legend. */
export function monthsChart(months: MonthFigures[], now: Date): string {
  const shown = recentMonths(months, now);
  const total = allTime(shown);
  return barChart({
    className: 'affiliate-chart',
    summary: `Visits and orders per month, ${monthLabel(shown[0]!.month)} to ${monthLabel(shown.at(-1)!.month)}: ${total.visits} visits, ${total.orders} orders`,
    series: [
      { key: 'visits', label: 'Visits', colour: '#7a9cc6' },
      { key: 'orders', label: 'Orders', colour: '#c26a1b' },
    ],
    groups: shown.map((m) => ({
      label: monthLabel(m.month),
      values: [m.visits, m.orders],
      tips: [
        `${monthLabel(m.month)}: ${m.visits} visit${m.visits === 1 ? '' : 's'}`,
        `${monthLabel(m.month)}: ${m.orders} order${m.orders === 1 ? '' : 's'}`,
      ],
      data: { month: m.month },
    })),
    formatValue: String,
    wholeNumbers: true,
    xCaption: 'Month (UTC)',
    yCaption: 'Visits and orders',
    height: 260,
  });
}
