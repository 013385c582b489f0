import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { toDbTime } from '../db/dialect.js';
import { queueStatementEmail, statementCsv, statementFileName } from '../labels/statements/csv.js';
import { isMonth, isQuarter, monthStatements, quarterVat } from '../labels/statements/statements.js';
import { formatPrice } from '../web/view-helpers.js';
import { importerMedia } from '../media/index.js';
import { createIngester, type MessageOutcome } from '../labels/ddex/ingest.js';
import { withDatabase } from './context.js';

const seconds = (value: string) => {
  if (!/^\d{1,5}$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a whole number of seconds, at least 1');
  return Number(value);
};

function printOutcome(o: MessageOutcome): void {
  const releases = o.releases.map((r) => `${r.icpn ?? r.reference}: ${r.status}`).join('; ');
  console.log(
    `${o.batch}/${o.file}\t${o.messageId ?? '-'}\t${o.status}${o.reason ? `: ${o.reason}` : ''}${releases ? `\t${releases}` : ''}`,
  );
}

const month = (value: string) => {
  if (!isMonth(value)) throw new InvalidArgumentError('must be a month such as 2026-11');
  return value;
};
const quarter = (value: string) => {
  if (!isQuarter(value)) throw new InvalidArgumentError('must be a quarter such as 2026-Q4');
  return value;
};
const labelNumber = (value: string) => {
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new InvalidArgumentError('must be a label number (see the admin labels page)');
  return Number(value);
};

export function registerLabelCommands(program: Command): void {
  program
    .command('ingest')
    .description(
      'Apply DDEX ERN 4.3 deliveries: every complete batch folder (with its BatchComplete_*.xml) in DIR; writes ACK_<message>.xml beside each message.',
    )
    .argument('<dir>', 'the delivery folder, holding one folder per batch')
    .option('--watch', 'keep polling the folder for new batches')
    .option('--every <seconds>', 'how often --watch looks', seconds, 30)
    .action(async (dir: string, options: { watch?: boolean; every: number }) => {
      await withDatabase(async ({ config, database }) => {
        const { media, ffmpegPath } = importerMedia(config.media);
        const ingester = createIngester({ db: database.db, media, ffmpegPath, settings: config.labels });
        let stop = false;
        process.once('SIGINT', () => (stop = true));
        process.once('SIGTERM', () => (stop = true));
        do {
          const { outcomes, waiting } = await ingester.ingestFolder(path.resolve(dir));
          outcomes.forEach(printOutcome);
          if (!options.watch) {
            waiting.forEach((b) => console.log(`${b}: incomplete (no BatchComplete_*.xml yet), left for later`));
            if (outcomes.some((o) => o.status === 'refused')) process.exitCode = 2;
            break;
          }
          for (let waited = 0; waited < options.every * 10 && !stop; waited++) await new Promise((r) => setTimeout(r, 100));
        } while (!stop);
      });
    });

  program
    .command('statements')
    .description(
      "Label sales statements for a month, computed from orders and refunds: a summary per label, and each label's CSV with --out.",
    )
    .requiredOption('--month <YYYY-MM>', 'the month (UTC)', month)
    .option('--label <n>', 'only this label', labelNumber)
    .option('--out <dir>', 'write statement-MONTH-label-N.csv files here')
    .option('--email', "queue each statement to its label's contact address through the outbox")
    .action(async (options: { month: string; label?: number; out?: string; email?: boolean }) => {
      await withDatabase(async ({ config, database }) => {
        const result = await monthStatements(database.db, options.month, options.label);
        if (options.out) await fs.mkdir(options.out, { recursive: true });
        for (const statement of result.statements) {
          const t = statement.totals;
          console.log(
            `${statement.label.id}\t${statement.label.name}\tunits ${t.unitsSold - t.unitsRefunded}\tgross ${formatPrice(t.grossPence)}\trefunds ${formatPrice(t.refundsPence)}\tVAT ${formatPrice(t.vatPence)}\tnet ${formatPrice(t.netPence)}\towed ${formatPrice(t.owedPence)}`,
          );
          if (options.out)
            await fs.writeFile(path.join(options.out, statementFileName(statement)), statementCsv(statement, config.storeName));
          if (options.email) {
            const queued = await queueStatementEmail(database.db, statement, config.storeName, toDbTime(new Date()));
            console.log(queued ? `\tqueued to the label's contact (outbox ${queued})` : '\tnot emailed: the label has no contact address');
          }
        }
        if (result.statements.length === 0)
          console.log(`No sales or refunds in ${options.month}${options.label ? ` for label ${options.label}` : ''}.`);
        const r = result.reconciliation;
        console.log(
          `All labels: owed ${formatPrice(result.totals.owedPence)} + store ${formatPrice(result.totals.storeSharePence)} + VAT ${formatPrice(result.totals.vatPence)} = ${formatPrice(r.statedPence)}; orders: sales ${formatPrice(r.salesPence)} - refunds ${formatPrice(r.refundsPence)} = ${formatPrice(r.salesPence - r.refundsPence)}${r.balanced ? ' (balanced)' : ' (NOT BALANCED)'}.`,
        );
        if (!r.balanced) process.exitCode = 3;
      });
    });

  program
    .command('vat')
    .description('VAT summary for a quarter: sales, refunds and VAT by payment method and country, reconciled to the label statements.')
    .requiredOption('--quarter <YYYY-Qn>', 'the quarter (UTC)', quarter)
    .action(async (options: { quarter: string }) => {
      await withDatabase(async ({ database }) => {
        const summary = await quarterVat(database.db, options.quarter);
        for (const row of summary.byMethodAndCountry) {
          console.log(
            `${row.paymentMethod}\t${row.country}\tsales ${formatPrice(row.salesPence)}\trefunds ${formatPrice(row.refundsPence)}\tVAT ${formatPrice(row.vatPence)}\tnet ${formatPrice(row.netPence)}`,
          );
        }
        console.log(
          `Total: sales ${formatPrice(summary.totals.salesPence)}, refunds ${formatPrice(summary.totals.refundsPence)}, VAT ${formatPrice(summary.totals.vatPence)}, net ${formatPrice(summary.totals.netPence)}${summary.reconciled ? ' (reconciled with the statements)' : ' (NOT RECONCILED)'}.`,
        );
        if (!summary.reconciled) process.exitCode = 3;
      });
    });
}
