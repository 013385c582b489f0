/** Sales per day on the admin dashboard: one bar a day, the y axis in pounds. */
import { barChart } from '../../web/bar-chart.js';
import { formatPrice } from '../../web/view-helpers.js';

export interface DayFigure {
  /** 'YYYY-MM-DD', UTC. */
  day: string;
  pence: number;
  orders: number;
}

export function salesChart(days: DayFigure[], label = 'Sales per day'): string {
  const total = days.reduce((sum, d) => sum + d.pence, 0);
  return barChart({
    className: 'admin-chart',
    summary: `${label}: ${days.length} days from ${days[0]?.day ?? '-'} to ${days.at(-1)?.day ?? '-'}, ${formatPrice(total)} in all`,
    series: [{ key: 'bar', label: 'Sales', colour: '#3b6ea5' }],
    groups: days.map((d) => ({
      label: d.day.slice(5),
      values: [d.pence],
      tips: [`${d.day}: ${formatPrice(d.pence)} from ${d.orders} order${d.orders === 1 ? '' : 's'}`],
      data: { day: d.day, pence: d.pence },
    })),
    formatValue: formatPrice,
    xCaption: 'Day (UTC, month-day)',
    // The y axis says what it counts: the amounts beside it are paid sales, not orders.
    yCaption: 'Sales (£)',
  });
}
