/** The targets of issues 9 and 15, as the bench reads them; each table marks a figure that misses one. */
export const TARGETS = {
  catalogue_ratio_min: 0.5,
  catalogue_p99_ms_max: 50,
  search_p50_ms_max: 10,
  orders_per_s_min: 100,
  download_ratio_min: 0.8,
  import_files_per_s_min: 100,
  peak_rss_mb_max: 150,
  order_cpu_ms_max: 5,
  home_page_kb_max: 250,
};

type Row = Record<string, string | number>;
type Results = Record<string, Record<string, unknown>>;

const mark = (value: number, ok: boolean) => `${value}${ok ? '' : ' ✗'}`;

function catalogueRows(results: Results): Row[] {
  const rows: Row[] = [];
  for (const [db, parts] of Object.entries(results)) {
    const part = parts.catalogue as
      { pages: Row[]; peak_rss_mb: Record<string, number>; search_uncached: { p50: number; p99: number } } | undefined;
    if (!part) continue;
    for (const page of part.pages) {
      rows.push({
        db,
        build: page.build!,
        visitor: page.visitor!,
        page: page.page!,
        'req/s': page.rps!,
        'p50 ms': page.p50_ms!,
        'p99 ms': mark(page.p99_ms as number, (page.p99_ms as number) < TARGETS.catalogue_p99_ms_max),
        'bare req/s': page.bare_rps!,
        ratio: mark(page.ratio as number, (page.ratio as number) >= TARGETS.catalogue_ratio_min),
        'CPU ms/req': page.cpu_ms_per_request!,
        'bare CPU ms/req': page.bare_cpu_ms_per_request!,
      });
    }
    for (const [build, mb] of Object.entries(part.peak_rss_mb))
      rows.push({ db, build, page: 'peak RSS MB, all pages', 'p50 ms': mark(mb, mb < TARGETS.peak_rss_mb_max) });
    rows.push({
      db,
      page: 'search, uncached, 1 at a time',
      'p50 ms': mark(part.search_uncached.p50, part.search_uncached.p50 < TARGETS.search_p50_ms_max),
      'p99 ms': part.search_uncached.p99,
    });
  }
  return rows;
}

function purchaseRows(results: Results, rss: (r: Row) => string): Row[] {
  return Object.entries(results).flatMap(([db, parts]) =>
    ((parts.purchase as { runs: Row[] } | undefined)?.runs ?? []).map((r) => ({
      db,
      build: r.build!,
      shoppers: r.shoppers!,
      orders: r.orders!,
      'orders/s': mark(r.orders_per_s as number, (r.orders_per_s as number) >= TARGETS.orders_per_s_min),
      'store CPU ms/order': mark(r.store_cpu_ms_per_order as number, (r.store_cpu_ms_per_order as number) <= TARGETS.order_cpu_ms_max),
      'p50 ms': r.order_p50_ms!,
      'p99 ms': r.order_p99_ms!,
      'peak RSS MB': rss(r),
    })),
  );
}

function partRows(results: Results, part: string, shape: (r: Row) => Row): Row[] {
  return Object.entries(results).flatMap(([db, parts]) => (parts[part] ? [{ db, ...shape(parts[part] as Row) }] : []));
}

export function printTables(results: Results): void {
  const rss = (r: Row) => mark(r.peak_rss_mb as number, (r.peak_rss_mb as number) < TARGETS.peak_rss_mb_max);
  const tables: [string, Row[]][] = [
    ['Catalogue pages (target: ratio >= 0.5, p99 < 50 ms; uncached search p50 < 10 ms)', catalogueRows(results)],
    [
      'Purchase: basket -> checkout -> PayPal stand-in -> paid -> confirmation sent (target >= 100 orders/s, store CPU <= 5 ms per order)',
      purchaseRows(results, rss),
    ],
    [
      'Download of a 10 MB track vs plain Node streaming (target: ratio >= 0.8)',
      partRows(results, 'download', (r) => ({
        concurrency: r.concurrency!,
        'MB/s': r.mb_per_s!,
        'baseline MB/s': r.baseline_mb_per_s!,
        ratio: mark(r.ratio as number, (r.ratio as number) >= TARGETS.download_ratio_min),
        'peak RSS MB': rss(r),
      })),
    ],
    [
      'Demo home page, cold load in Chromium (target: under 250 KB transferred)',
      partRows(results, 'weight', (r) => ({
        'KB transferred': mark(r.transferred_kb as number, (r.transferred_kb as number) < TARGETS.home_page_kb_max),
        'by kind': JSON.stringify(r.by_kind),
      })),
    ],
    [
      'Import of generated MP3s (target >= 100 files/s)',
      partRows(results, 'import', (r) => ({
        files: r.files!,
        MB: r.mb!,
        seconds: r.seconds!,
        'files/s': mark(r.files_per_s as number, (r.files_per_s as number) >= TARGETS.import_files_per_s_min),
        'peak RSS MB': rss(r),
      })),
    ],
  ];
  for (const [title, rows] of tables) {
    if (rows.length === 0) continue;
    console.log(`\n${title}`);
    console.table(rows);
  }
  console.log(`✗ marks a figure that misses its target. RSS target: under ${TARGETS.peak_rss_mb_max} MB.`);
}
