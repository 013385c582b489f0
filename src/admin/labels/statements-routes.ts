/**
 * Label statements and the VAT summary in the admin: a month's statements (every label, or one),
 * each label's CSV, emailing a statement to the label's contact through the outbox, and the
 * quarter's VAT by payment method and country. Figures are computed on each request from orders
 * and refunds (src/labels/statements/).
 */
import { Router } from 'express';
import { z } from 'zod';
import { toDbTime } from '../../db/dialect.js';
import { queueStatementEmail, statementCsv, statementFileName } from '../../labels/statements/csv.js';
import { isMonth, isQuarter, monthStatements, previousMonth, quarterOf, quarterVat } from '../../labels/statements/statements.js';
import { HttpError } from '../../web/errors.js';
import { flash } from '../../web/flash.js';
import { parseBody, parseQuery } from '../../web/params.js';
import { recordAudit } from '../audit.js';
import { operatorOf } from '../access/session.js';
import type { AdminDeps } from '../deps.js';

const labelParam = z
  .string()
  .regex(/^[1-9]\d{0,8}$/)
  .transform(Number);
const statementQuery = z.object({ month: z.string().max(7).optional(), label: labelParam.optional() });

function monthOrThrow(month: string | undefined, fallback: string): string {
  const chosen = month || fallback;
  if (!isMonth(chosen)) throw new HttpError(400, 'Choose a month such as 2026-11.');
  return chosen;
}

export function statementsAdminRoutes(deps: AdminDeps): Router {
  const router = Router();
  const { db, clock, config } = deps;

  router.get('/admin/labels/statements', async (req, res) => {
    const query = parseQuery(statementQuery, req.query);
    const month = monthOrThrow(query.month, previousMonth(clock()));
    const result = await monthStatements(db, month, query.label);
    res.render('admin/labels/statements', { title: `Statements ${month}`, section: 'labels', labelId: query.label ?? null, ...result });
  });

  router.get('/admin/labels/statements.csv', async (req, res) => {
    const query = parseQuery(statementQuery, req.query);
    if (!query.label) throw new HttpError(400, 'Choose a label.');
    const month = monthOrThrow(query.month, previousMonth(clock()));
    const [statement] = (await monthStatements(db, month, query.label)).statements;
    if (!statement) throw new HttpError(404, `That label sold nothing and refunded nothing in ${month}.`);
    res.type('text/csv').attachment(statementFileName(statement)).send(statementCsv(statement, config.storeName));
  });

  router.post('/admin/labels/statements/email', async (req, res) => {
    const form = parseBody(z.object({ month: z.string().max(7), label: labelParam }), req.body);
    const month = monthOrThrow(form.month, '');
    const [statement] = (await monthStatements(db, month, form.label)).statements;
    const back = `/admin/labels/statements?month=${month}`;
    if (!statement) throw new HttpError(404, `That label sold nothing and refunded nothing in ${month}.`);
    const now = clock();
    const queued = await db.transaction().execute(async (tx) => {
      const id = await queueStatementEmail(tx, statement, config.storeName, toDbTime(now));
      if (id)
        await recordAudit(
          tx,
          {
            operatorId: operatorOf(req).id,
            action: 'label.statement_email',
            target: `label:${form.label}`,
            detail: `${month}, outbox ${id}`,
          },
          now,
        );
      return id;
    });
    if (queued) flash(req, 'info', `The ${month} statement for ${statement.label.name} is queued to ${statement.label.contactEmail}.`);
    else flash(req, 'error', `${statement.label.name} has no contact address: add one on the label's page first.`);
    res.redirect(303, back);
  });

  router.get('/admin/labels/ingestions', async (_req, res) => {
    const rows = await db.selectFrom('ddex_ingestions').selectAll().orderBy('id', 'desc').limit(200).execute();
    const ingestions = rows.map((r) => ({
      ...r,
      ...(JSON.parse(r.summary ?? '{}') as {
        reason?: string | null;
        releases?: { icpn: string | null; reference: string; status: string }[];
      }),
    }));
    res.render('admin/labels/ingestions', { title: 'DDEX deliveries', section: 'labels', ingestions });
  });

  router.get('/admin/labels/vat', async (req, res) => {
    const { quarter: asked } = parseQuery(z.object({ quarter: z.string().max(7).optional() }), req.query);
    const quarter = asked || quarterOf(clock());
    if (!isQuarter(quarter)) throw new HttpError(400, 'Choose a quarter such as 2026-Q4.');
    res.render('admin/labels/vat', {
      title: `VAT ${quarter}`,
      section: 'labels',
      vatNumber: config.labels.vatNumber,
      ...(await quarterVat(db, quarter)),
    });
  });

  return router;
}
