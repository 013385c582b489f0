import { InvalidArgumentError, type Command } from 'commander';
import { addAffiliate, findAffiliate, listAffiliates, recordPayout, setActive } from '../affiliates/repository.js';
import { createAffiliatesService } from '../affiliates/service.js';
import { isDuplicateKeyError } from '../db/dialect.js';
import { formatPrice } from '../web/view-helpers.js';
import { withDatabase } from './context.js';

const EMAIL = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;

const affiliateNumber = (value: string) => {
  if (!/^[1-9]\d{0,8}$/.test(value)) throw new InvalidArgumentError('must be an affiliate number such as 12');
  return Number(value);
};
/** A percentage with at most two decimals (12.5), kept as basis points. */
const percentage = (value: string) => {
  if (!/^\d{1,3}(\.\d{1,2})?$/.test(value) || Number(value) > 100)
    throw new InvalidArgumentError('must be a percentage from 0 to 100, such as 20 or 12.5');
  return Math.round(Number(value) * 100);
};
const pence = (value: string) => {
  if (!/^\d{1,7}$/.test(value)) throw new InvalidArgumentError('must be a whole number of pence');
  return Number(value);
};

export function registerAffiliateCommands(program: Command): void {
  const affiliate = program.command('affiliate').description('Affiliates: add, deactivate, list, approve commissions, record payouts.');

  affiliate
    .command('add')
    .description(
      'Add an affiliate; prints their number and referral link. Commission: --rate percent (default 20) or --flat-pence per order.',
    )
    .requiredOption('--name <name>', 'the affiliate name')
    .requiredOption('--email <email>', 'where their sign-in codes go')
    .option('--rate <percent>', 'percentage of each order (rounded half down to whole pence)', percentage)
    .option('--flat-pence <pence>', 'a flat amount per order instead of a percentage', pence)
    .action(async (options: { name: string; email: string; rate?: number; flatPence?: number }) => {
      const name = options.name.trim();
      const email = options.email.trim().toLowerCase();
      if (!name || name.length > 120) throw new Error('--name must be 1 to 120 characters');
      if (!EMAIL.test(email) || email.length > 254) throw new Error('--email must be an email address');
      if (options.rate !== undefined && options.flatPence !== undefined) throw new Error('give --rate or --flat-pence, not both');
      await withDatabase(async ({ config, database }) => {
        const rateBasisPoints = options.flatPence !== undefined ? null : (options.rate ?? 2000);
        const id = await addAffiliate(
          database.db,
          { name, email, rateBasisPoints, flatPence: options.flatPence ?? null },
          new Date(),
        ).catch((error: unknown) => {
          throw isDuplicateKeyError(error) ? new Error(`an affiliate with the email ${email} already exists`) : error;
        });
        const base = config.publicUrl ?? `http://localhost:${config.port}`;
        console.log(
          `Added affiliate ${id}: ${name} <${email}>, ${rateBasisPoints !== null ? `${rateBasisPoints / 100}% of each order` : `${formatPrice(options.flatPence!)} per order`}.`,
        );
        console.log(`Referral link: ${base}/?a=${id}`);
      });
    });

  affiliate
    .command('deactivate')
    .description('Stop crediting an affiliate: their links set no cookie and new orders are not credited to them.')
    .requiredOption('--number <n>', 'the affiliate number', affiliateNumber)
    .action(async (options: { number: number }) => {
      await withDatabase(async ({ database }) => {
        if (!(await setActive(database.db, options.number, false, new Date()))) throw new Error(`there is no affiliate ${options.number}`);
        console.log(`Affiliate ${options.number} is deactivated.`);
      });
    });

  affiliate
    .command('list')
    .description('Every affiliate with their commission rate and status.')
    .action(async () => {
      await withDatabase(async ({ database }) => {
        const rows = await listAffiliates(database.db);
        if (rows.length === 0) return console.log('No affiliates yet.');
        for (const a of rows) {
          const rate = a.flat_pence !== null ? `${formatPrice(a.flat_pence)} per order` : `${(a.rate_basis_points ?? 0) / 100}%`;
          console.log(`${a.id}\t${a.active === 1 ? 'active' : 'inactive'}\t${rate}\t${a.name} <${a.email}>`);
        }
      });
    });

  affiliate
    .command('approve')
    .description('Approve pending commissions older than AFFILIATE_HOLD_DAYS (the running app does this every minute too).')
    .action(async () => {
      await withDatabase(async ({ config, database }) => {
        const approved = await createAffiliatesService({
          db: database.db,
          settings: config.affiliates,
          clock: () => new Date(),
        }).approveDueCommissions();
        console.log(`Approved ${approved} commission${approved === 1 ? '' : 's'}.`);
      });
    });

  affiliate
    .command('payout')
    .description('Record that every approved commission of an affiliate has been paid to them.')
    .requiredOption('--number <n>', 'the affiliate number', affiliateNumber)
    .action(async (options: { number: number }) => {
      await withDatabase(async ({ database }) => {
        if (!(await findAffiliate(database.db, options.number))) throw new Error(`there is no affiliate ${options.number}`);
        const payout = await recordPayout(database.db, options.number, new Date());
        if (!payout) return console.log(`Nothing to pay affiliate ${options.number}: no approved commissions.`);
        console.log(
          `Recorded payout ${payout.payoutId} to affiliate ${options.number}: ${formatPrice(payout.amountPence)} for ${payout.count} commission${payout.count === 1 ? '' : 's'}.`,
        );
      });
    });
}
