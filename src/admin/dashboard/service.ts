/** The dashboard's figures: sales windows, a day-by-day series, best sellers, payment methods, affiliates, outbox. */
import type { Db } from '../../db/database.js';
import { toDbTime } from '../../db/dialect.js';
import { salesChart, type DayFigure } from './chart.js';
import * as repo from './repository.js';
import { lastDays, usageSummary } from '../../analytics/repository.js';

const DAY_MS = 24 * 3600_000;
export const CHART_DAYS = 30;
const TOP_LIMIT = 10;

/** Midnight UTC of the day `daysBack` days before `now`'s day. */
export function dayStart(now: Date, daysBack = 0): Date {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(midnight - daysBack * DAY_MS);
}

/** Every day from `first` to `now`'s day, with zeros where nothing sold. */
export function fillDays(rows: DayFigure[], first: Date, now: Date): DayFigure[] {
  const byDay = new Map(rows.map((r) => [r.day, r]));
  const days: DayFigure[] = [];
  for (let t = first.getTime(); t <= now.getTime(); t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10);
    days.push(byDay.get(day) ?? { day, orders: 0, pence: 0 });
  }
  return days;
}

function sumDays(days: DayFigure[]): { orders: number; pence: number } {
  return days.reduce((sum, d) => ({ orders: sum.orders + d.orders, pence: sum.pence + d.pence }), { orders: 0, pence: 0 });
}

export async function dashboardFigures(db: Db, now: Date) {
  const since = (daysBack: number) => toDbTime(dayStart(now, daysBack));
  const chartStart = dayStart(now, CHART_DAYS - 1);
  const [daily, releases, tracks, methods, affiliates, outbox] = await Promise.all([
    repo.salesByDay(db, toDbTime(chartStart)),
    repo.topReleases(db, since(CHART_DAYS - 1), TOP_LIMIT),
    repo.topTracks(db, since(CHART_DAYS - 1), TOP_LIMIT),
    repo.methodSplit(db, since(CHART_DAYS - 1)),
    repo.affiliatePerformance(db, since(CHART_DAYS - 1)),
    repo.outboxHealth(db),
  ]);
  const range = lastDays(CHART_DAYS, now);
  const usage = await usageSummary(db, range.from, range.to, { top: TOP_LIMIT });
  const days = fillDays(daily, chartStart, now);
  const methodTotal = methods.reduce((sum, m) => sum + m.orders, 0);
  return {
    // The windows are the chart's last days summed: no query of their own.
    windows: [
      { label: 'Today', key: 'today', ...sumDays(days.slice(-1)) },
      { label: 'Last 7 days', key: '7d', ...sumDays(days.slice(-7)) },
      { label: `Last ${CHART_DAYS} days`, key: '30d', ...sumDays(days) },
    ],
    days,
    chart: salesChart(days, `Sales per day, last ${CHART_DAYS} days`),
    topReleases: releases,
    topTracks: tracks,
    methods: methods.map((m) => ({ ...m, share: methodTotal > 0 ? Math.round((m.orders / methodTotal) * 1000) / 10 : 0 })),
    affiliates,
    outbox,
    usage,
  };
}

export type DashboardFigures = Awaited<ReturnType<typeof dashboardFigures>>;
