/**
 * Sales per day as an SVG bar chart, drawn on the server so the dashboard reads without script.
 * Every piece of text goes through escapeXml: day labels are ours, but the chart must stay safe
 * whatever a caller passes in. The page shows the same figures in a table beside it (the
 * fallback for screen readers and for anyone who wants the numbers).
 */
import { formatPrice } from '../../web/view-helpers.js';

export interface DayFigure {
  /** 'YYYY-MM-DD', UTC. */
  day: string;
  pence: number;
  orders: number;
}

const WIDTH = 960;
const HEIGHT = 240;
const LEFT = 80;
const RIGHT = 12;
const TOP = 14;
const BOTTOM = 40;

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A round top for the y axis (1, 2 or 5 times a power of ten), so the gridlines read as whole amounts. */
export function niceCeiling(value: number): number {
  if (value <= 0) return 100;
  const power = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 5, 10].find((m) => m * power >= value)!;
  return step * power;
}

export function salesChart(days: DayFigure[], label = 'Sales per day'): string {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const plotHeight = HEIGHT - TOP - BOTTOM;
  const top = niceCeiling(Math.max(0, ...days.map((d) => d.pence)));
  const slot = days.length > 0 ? plotWidth / days.length : plotWidth;
  const barWidth = Math.max(2, slot * 0.7);
  const y = (pence: number) => TOP + plotHeight - (pence / top) * plotHeight;
  // Label every day when there is room, else about ten evenly spaced ones.
  const labelEvery = Math.max(1, Math.ceil(days.length / 10));

  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const yy = y(top * f).toFixed(1);
      return `<line x1="${LEFT}" y1="${yy}" x2="${WIDTH - RIGHT}" y2="${yy}" stroke="#ddd"/><text x="${LEFT - 6}" y="${yy}" dy="4" text-anchor="end" font-size="11">${escapeXml(formatPrice(Math.round(top * f)))}</text>`;
    })
    .join('');
  const bars = days
    .map((d, i) => {
      const x = LEFT + i * slot + (slot - barWidth) / 2;
      const height = Math.max(0, TOP + plotHeight - y(d.pence));
      const tip = `${d.day}: ${formatPrice(d.pence)} from ${d.orders} order${d.orders === 1 ? '' : 's'}`;
      const bar = `<rect class="chart__bar" data-day="${escapeXml(d.day)}" data-pence="${d.pence}" x="${x.toFixed(1)}" y="${y(d.pence).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${height.toFixed(1)}" fill="#3b6ea5"><title>${escapeXml(tip)}</title></rect>`;
      const text = i % labelEvery === 0 ? `<text x="${(x + barWidth / 2).toFixed(1)}" y="${HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11">${escapeXml(d.day.slice(5))}</text>` : '';
      return bar + text;
    })
    .join('');
  const axis = `<line x1="${LEFT}" y1="${TOP + plotHeight}" x2="${WIDTH - RIGHT}" y2="${TOP + plotHeight}" stroke="#666"/>`;
  const caption = `<text x="${LEFT + plotWidth / 2}" y="${HEIGHT - 6}" text-anchor="middle" font-size="11">Day (UTC, month-day)</text>`;
  // The y axis says what it counts: the amounts beside it are paid sales, not orders.
  const yCaption = `<text x="14" y="${TOP + plotHeight / 2}" transform="rotate(-90 14 ${TOP + plotHeight / 2})" text-anchor="middle" font-size="11">Sales (£)</text>`;
  const total = days.reduce((sum, d) => sum + d.pence, 0);
  const summary = `${label}: ${days.length} days from ${days[0]?.day ?? '-'} to ${days.at(-1)?.day ?? '-'}, ${formatPrice(total)} in all`;
  return `<svg class="admin-chart" role="img" aria-label="${escapeXml(summary)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>${escapeXml(summary)}</title>${grid}${axis}${bars}${caption}${yCaption}</svg>`;
}
