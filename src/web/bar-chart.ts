/**
 * Bar charts as SVG, drawn on the server so a dashboard reads without script: a y axis with round
 * gridlines, labelled bars (a group per x value, a bar per series in it), axis captions and, for
 * more than one series, a legend. Every piece of text goes through escapeXml: labels are ours,
 * but a chart must stay safe whatever a caller passes in. Pages show the same figures in a table
 * beside the chart (for screen readers and for anyone who wants the numbers).
 */

export interface BarSeries {
  /** Becomes the bars' class, `chart__<key>`. */
  key: string;
  /** For the legend. */
  label: string;
  colour: string;
}

export interface BarGroup {
  /** Under the group on the x axis (shown for about ten groups at most). */
  label: string;
  /** One value per series, in the series' order. */
  values: number[];
  /** One tooltip per series. */
  tips: string[];
  /** Extra `data-` attributes for each bar of the group (a test or a script finds a bar by them). */
  data?: Record<string, string | number>;
}

export interface BarChartOptions {
  /** The svg's class. */
  className: string;
  /** The accessible name: what the chart shows, in a sentence. */
  summary: string;
  series: BarSeries[];
  groups: BarGroup[];
  /** How a value reads on the y axis. */
  formatValue: (value: number) => string;
  xCaption: string;
  yCaption: string;
  /** Whole numbers only on the y axis (counts). */
  wholeNumbers?: boolean;
  width?: number;
  height?: number;
}

const LEFT = 80;
const RIGHT = 12;
const TOP = 14;
const BOTTOM = 40;
const LEGEND = 22;
const GRID_STEPS = 4;

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

/**
 * The axis top for counts: GRID_STEPS times a whole step, so every gridline is a whole number.
 * Small steps stay as they are (3 visits: 0 1 2 3 4); larger ones round to a readable amount.
 */
export function wholeCeiling(value: number): number {
  const step = Math.max(1, Math.ceil(value / GRID_STEPS));
  return GRID_STEPS * (step <= 5 ? step : niceCeiling(step));
}

const attributes = (data: Record<string, string | number> = {}) =>
  Object.entries(data)
    .map(([name, value]) => ` data-${name}="${escapeXml(String(value))}"`)
    .join('');

export function barChart(options: BarChartOptions): string {
  const { series, groups, formatValue } = options;
  const width = options.width ?? 960;
  const height = options.height ?? 240;
  const legendHeight = series.length > 1 ? LEGEND : 0;
  const plotTop = TOP + legendHeight;
  const plotWidth = width - LEFT - RIGHT;
  const plotHeight = height - plotTop - BOTTOM;
  const highest = Math.max(0, ...groups.flatMap((g) => g.values));
  const top = options.wholeNumbers ? wholeCeiling(highest) : niceCeiling(highest);
  const slot = groups.length > 0 ? plotWidth / groups.length : plotWidth;
  const groupWidth = Math.max(2, slot * 0.7);
  const barWidth = groupWidth / series.length;
  const y = (value: number) => plotTop + plotHeight - (value / top) * plotHeight;
  // Label every group when there is room (a year of months), else about twelve evenly spaced ones.
  const labelEvery = Math.max(1, Math.ceil(groups.length / 12));

  const legend =
    series.length > 1
      ? series
          .map(
            (s, i) =>
              `<rect x="${LEFT + i * 140}" y="${TOP - 10}" width="12" height="12" fill="${escapeXml(s.colour)}"/><text x="${LEFT + i * 140 + 18}" y="${TOP}" font-size="12">${escapeXml(s.label)}</text>`,
          )
          .join('')
      : '';
  const grid = Array.from({ length: GRID_STEPS + 1 }, (_, i) => i / GRID_STEPS)
    .map((f) => {
      const yy = y(top * f).toFixed(1);
      return `<line x1="${LEFT}" y1="${yy}" x2="${width - RIGHT}" y2="${yy}" stroke="#ddd"/><text x="${LEFT - 6}" y="${yy}" dy="4" text-anchor="end" font-size="11">${escapeXml(formatValue(Math.round(top * f)))}</text>`;
    })
    .join('');
  const bars = groups
    .map((g, i) => {
      const left = LEFT + i * slot + (slot - groupWidth) / 2;
      const rects = series
        .map((s, k) => {
          const value = g.values[k] ?? 0;
          const barHeight = Math.max(0, plotTop + plotHeight - y(value));
          return `<rect class="chart__${escapeXml(s.key)}"${attributes(g.data)} x="${(left + k * barWidth).toFixed(1)}" y="${y(value).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${barHeight.toFixed(1)}" fill="${escapeXml(s.colour)}"><title>${escapeXml(g.tips[k] ?? '')}</title></rect>`;
        })
        .join('');
      const label =
        i % labelEvery === 0
          ? `<text x="${(left + groupWidth / 2).toFixed(1)}" y="${height - BOTTOM + 16}" text-anchor="middle" font-size="11">${escapeXml(g.label)}</text>`
          : '';
      return rects + label;
    })
    .join('');
  const axis = `<line x1="${LEFT}" y1="${plotTop + plotHeight}" x2="${width - RIGHT}" y2="${plotTop + plotHeight}" stroke="#666"/>`;
  const xCaption = `<text x="${LEFT + plotWidth / 2}" y="${height - 6}" text-anchor="middle" font-size="11">${escapeXml(options.xCaption)}</text>`;
  const middle = plotTop + plotHeight / 2;
  const yCaption = `<text x="14" y="${middle}" transform="rotate(-90 14 ${middle})" text-anchor="middle" font-size="11">${escapeXml(options.yCaption)}</text>`;
  const summary = escapeXml(options.summary);
  return `<svg class="${escapeXml(options.className)}" role="img" aria-label="${summary}" viewBox="0 0 ${width} ${height}" width="100%" xmlns="http://www.w3.org/2000/svg"><title>${summary}</title>${legend}${grid}${axis}${bars}${xCaption}${yCaption}</svg>`;
}
