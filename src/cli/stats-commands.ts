import { InvalidArgumentError, type Command } from 'commander';
import { lastDays, usageSummary, type UsageSummary } from '../analytics/repository.js';
import { withDatabase } from './context.js';

const wholeNumber = (min: number, max: number) => (value: string) => {
  if (!/^\d{1,5}$/.test(value) || Number(value) < min || Number(value) > max)
    throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
  return Number(value);
};

const number = (n: number) => n.toLocaleString('en-GB');

/** Columns padded to their widest cell: the first left-aligned, the numbers right-aligned. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The summary as plain text for a terminal: per day, then the top pages and referring sites. */
export function formatUsageReport(summary: UsageSummary): string {
  const out = [
    `Usage from ${summary.from} to ${summary.to} (UTC days). Visitors are estimated per day, per process; no cookie or IP address is kept.`,
    '',
  ];
  out.push(
    ...table(
      ['day', 'views', 'visitors'],
      [
        ...summary.days.map((d) => [d.day, number(d.views), number(d.visitors)]),
        ['total', number(summary.totals.views), number(summary.totals.visitors)],
      ],
    ),
  );
  out.push('');
  if (summary.topPaths.length === 0) out.push('No page views in this period.');
  else
    out.push(
      ...table(
        ['page', 'views'],
        summary.topPaths.map((p) => [p.path, number(p.views)]),
      ),
    );
  out.push('');
  if (summary.topReferrers.length === 0) out.push('No visits from other sites in this period.');
  else
    out.push(
      ...table(
        ['referring site', 'views'],
        summary.topReferrers.map((r) => [r.domain, number(r.views)]),
      ),
    );
  return out.join('\n');
}

export function registerStatsCommands(program: Command): void {
  program
    .command('stats')
    .description(
      'Usage statistics: page views and estimated unique visitors per day, the most viewed pages and the sites that sent visitors.',
    )
    .option('--days <n>', 'how many UTC days, ending today', wholeNumber(1, 3660), 30)
    .option('--top <n>', 'how many pages and referring sites to list', wholeNumber(1, 1000), 20)
    .action(async (options: { days: number; top: number }) => {
      await withDatabase(async ({ database }) => {
        const { from, to } = lastDays(options.days, new Date());
        console.log(formatUsageReport(await usageSummary(database.db, from, to, { top: options.top })));
      });
    });
}
