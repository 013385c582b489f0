/**
 * Customers: find one, see their orders and messages, export everything held about them, erase
 * them. Export and erasure are the privacy commands' own functions (src/privacy/data-rights.ts).
 * The search is a POST, so an email address or mobile number never ends up in a URL (browser
 * history, logs).
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { eraseCustomer, exportCustomer } from '../../privacy/data-rights.js';
import { HttpError } from '../../web/errors.js';
import { flash } from '../../web/flash.js';
import { parseBody } from '../../web/params.js';
import { recordAudit } from '../audit.js';
import { operatorOf } from '../access/session.js';
import type { AdminDeps } from '../deps.js';
import { withoutCodes } from '../messages/display.js';
import { customerExists, parseCustomerQuery, SEARCH_LIMIT, searchCustomers } from './repository.js';

function customerId(req: Request): number {
  if (!/^[1-9]\d{0,9}$/.test(String(req.params.id))) throw new HttpError(404, 'There is no such customer.');
  return Number(req.params.id);
}

export function customersAdminRoutes(deps: AdminDeps): Router {
  const router = Router();
  const { db, clock } = deps;
  const renderSearch = (res: Response, status: number, locals: Record<string, unknown>) =>
    res.status(status).render('admin/customers/search', {
      title: 'Customers',
      section: 'customers',
      query: '',
      results: null,
      error: null,
      limit: SEARCH_LIMIT,
      ...locals,
    });

  router.get('/admin/customers', (_req, res) => renderSearch(res, 200, {}));

  router.post('/admin/customers', async (req, res) => {
    const { q } = parseBody(z.object({ q: z.string().max(300) }), req.body);
    const query = parseCustomerQuery(q);
    if (!query)
      return renderSearch(res, 400, {
        query: q,
        error: 'Type an email address (or at least three characters of one), a mobile number, #customer-number or an order reference.',
      });
    renderSearch(res, 200, { query: q, results: await searchCustomers(db, query) });
  });

  router.get('/admin/customers/:id', async (req, res) => {
    const id = customerId(req);
    if (!(await customerExists(db, id))) throw new HttpError(404, 'There is no such customer (erased customers are gone).');
    const data = await exportCustomer(db, id);
    // The page lists message subjects; a live sign-in code in one is not for the operator's eyes.
    data.messages = data.messages.map((m) => ({ ...m, subject: withoutCodes(m.subject) }));
    res.render('admin/customers/customer', { title: `Customer ${id}`, section: 'customers', id, data });
  });

  // Everything held about the customer, as the file they are owed; who downloaded it is audited.
  router.get('/admin/customers/:id/export', async (req, res) => {
    const id = customerId(req);
    if (!(await customerExists(db, id))) throw new HttpError(404, 'There is no such customer.');
    const data = await exportCustomer(db, id);
    await recordAudit(db, { operatorId: operatorOf(req).id, action: 'customer.export', target: `customer:${id}` }, clock());
    res
      .attachment(`customer-${id}.json`)
      .type('application/json')
      .send(JSON.stringify(data, null, 2));
  });

  router.post('/admin/customers/:id/erase', async (req, res) => {
    const id = customerId(req);
    const { confirm } = parseBody(z.object({ confirm: z.string().optional() }), req.body);
    if (confirm !== 'erase') throw new HttpError(400, 'To erase the customer, tick the box that confirms it.');
    if (!(await customerExists(db, id))) throw new HttpError(404, 'There is no such customer (perhaps already erased).');
    const now = clock();
    const erased = await eraseCustomer(db, id, now);
    await recordAudit(
      db,
      {
        operatorId: operatorOf(req).id,
        action: 'customer.erase',
        target: `customer:${id}`,
        detail: `${erased.orders} order(s) kept anonymously, ${erased.messages} message(s) emptied`,
      },
      now,
    );
    flash(
      req,
      'info',
      `Customer ${id} is erased: ${erased.orders} order(s) kept as anonymous records, ${erased.messages} message(s) emptied.`,
    );
    res.redirect(303, '/admin/customers');
  });

  return router;
}
