import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { OrderStatus } from '../../db/schema.js';
import { ORDER_REFERENCE_PATTERN } from '../../orders/reference.js';
import { HttpError } from '../../web/errors.js';
import { flash } from '../../web/flash.js';
import { pageNumber, parseQuery } from '../../web/params.js';
import { operatorOf } from '../access/session.js';
import type { AdminDeps } from '../deps.js';
import { ordersCsv } from './csv.js';
import { countOrders, findOrders, orderDetail, type OrderFilter } from './repository.js';
import { createAdminOrdersService, type ActionOutcome } from './service.js';

export const ORDER_STATUSES: OrderStatus[] = ['pending', 'paid', 'refunded', 'failed', 'cancelled', 'expired'];
const PAGE_SIZE = 50;
/** A CSV holds at most this many orders; narrow the filter for more. */
const CSV_LIMIT = 100_000;

/** An empty field of the filter form means "any". */
const optional = <S extends z.ZodTypeAny>(schema: S) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/)
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d));

const filterQuery = (methodIds: string[]) =>
  z.object({
    status: optional(z.enum(ORDER_STATUSES as [OrderStatus, ...OrderStatus[]])),
    method: optional(z.string().refine((m) => methodIds.includes(m))),
    affiliate: optional(
      z
        .string()
        .regex(/^[1-9]\d{0,8}$/)
        .transform(Number),
    ),
    from: optional(day),
    to: optional(day),
    reference: optional(
      z
        .string()
        .trim()
        .toUpperCase()
        .pipe(z.string().regex(/^[A-Z0-9-]{1,20}$/)),
    ),
    page: pageNumber,
  });

/** The filter as query parameters again, for links (pages, CSV) that keep it. */
function filterParams(filter: OrderFilter): Record<string, string> {
  return Object.fromEntries(
    Object.entries(filter)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => [k, String(v)]),
  );
}

/** Orders: the filtered list, its CSV, one order's detail, and the actions on it (all POST). */
export function ordersAdminRoutes(deps: AdminDeps): Router {
  const router = Router();
  const service = createAdminOrdersService(deps);
  const methodIds = deps.methods.map((m) => m.id);
  const methods = deps.methods.map((m) => ({ id: m.id, label: m.label }));
  const readFilter = (req: Request) => {
    const { page, ...filter } = parseQuery(filterQuery(methodIds), req.query);
    return { page, filter: filter as OrderFilter };
  };

  router.get('/admin/orders', async (req, res) => {
    const { page, filter } = readFilter(req);
    const [rows, total] = await Promise.all([
      findOrders(deps.db, filter, { limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE }),
      countOrders(deps.db, filter),
    ]);
    res.render('admin/orders/list', {
      title: 'Orders',
      section: 'orders',
      rows,
      total,
      page,
      pages: Math.max(1, Math.ceil(total / PAGE_SIZE)),
      filter,
      params: filterParams(filter),
      statuses: ORDER_STATUSES,
      methods,
    });
  });

  router.get('/admin/orders.csv', async (req, res) => {
    const { filter } = readFilter(req);
    const rows = await findOrders(deps.db, filter, { limit: CSV_LIMIT, offset: 0 });
    const day = deps.clock().toISOString().slice(0, 10);
    res.attachment(`orders-${day}.csv`).type('text/csv; charset=utf-8').send(ordersCsv(rows));
  });

  const referenceOf = (req: Request) => {
    const reference = String(req.params.reference ?? '').toUpperCase();
    if (!ORDER_REFERENCE_PATTERN.test(reference)) throw new HttpError(404, 'There is no order with that reference.');
    return reference;
  };

  router.get('/admin/orders/:reference', async (req, res) => {
    const detail = await orderDetail(deps.db, referenceOf(req));
    if (!detail) throw new HttpError(404, 'There is no order with that reference.');
    res.render('admin/orders/detail', {
      title: `Order ${detail.order.reference}`,
      section: 'orders',
      ...detail,
      methodLabel: methods.find((m) => m.id === detail.order.payment_method)?.label ?? detail.order.payment_method,
    });
  });

  /**
   * `confirm`: what the form's tick box must say ("yes") before a step that cannot be undone (refund,
   * cancel) runs. The browser asks for the tick first; without JavaScript, or from a stray POST, the
   * server refuses here, changes nothing and says why.
   */
  const act =
    (run: (reference: string, req: Request) => Promise<ActionOutcome>, confirm?: string) => async (req: Request, res: Response) => {
      const reference = referenceOf(req);
      if (confirm && (req.body as Record<string, unknown> | undefined)?.confirm !== 'yes') {
        flash(req, 'error', `Nothing was done: tick the box to confirm that you want to ${confirm}.`);
        return res.redirect(303, `/admin/orders/${reference}`);
      }
      const outcome = await run(reference, req);
      if (!outcome.ok && outcome.status === 404) throw new HttpError(404, outcome.message);
      flash(req, outcome.ok ? 'info' : 'error', outcome.message);
      res.redirect(303, `/admin/orders/${reference}`);
    };
  router.post(
    '/admin/orders/:reference/refund',
    act((reference, req) => service.refund(reference, operatorOf(req)), 'refund the order'),
  );
  router.post(
    '/admin/orders/:reference/cancel',
    act((reference, req) => service.cancel(reference, operatorOf(req)), 'cancel the order'),
  );
  router.post(
    '/admin/orders/:reference/resend-confirmation',
    act((reference, req) => service.resendConfirmation(reference, operatorOf(req))),
  );

  return router;
}
