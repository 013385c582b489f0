/**
 * Messages: the outbox with each message's status and last error, retrying a failed one, and
 * sending a service notice or a marketing message through the privacy feature's own functions
 * (src/privacy/notices.ts, marketing.ts): notices go to every customer with an order in the
 * window whatever their choice, marketing only to those who opted in.
 */
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { InvalidMessageError, maskRecipient } from '../../notifications/outbox.js';
import { queueMarketing } from '../../privacy/marketing.js';
import { sendServiceNotice } from '../../privacy/notices.js';
import { HttpError } from '../../web/errors.js';
import { flash } from '../../web/flash.js';
import { pageNumber, parseBody, parseQuery } from '../../web/params.js';
import { recordAudit } from '../audit.js';
import { operatorOf } from '../access/session.js';
import type { AdminDeps } from '../deps.js';
import { withoutCodes } from './display.js';
import { listMessages, OUTBOX_STATUSES, recentNotices, requeueFailed, statusCounts } from './repository.js';

const MAX_BODY = 100_000;

function oneLine(value: string, what: string): string {
  const line = value.trim();
  if (!line || line.length > 255 || /[\r\n]/.test(line)) throw new HttpError(400, `${what} must be one line of 1 to 255 characters.`);
  return line;
}

function bodyText(value: string): string {
  if (!value.trim()) throw new HttpError(400, 'The message is empty.');
  if (value.length > MAX_BODY) throw new HttpError(400, 'The message is too long.');
  return value.replace(/\r\n/g, '\n');
}

/** A date field (YYYY-MM-DD), as the start or the very end of that UTC day. */
function day(value: string, endOfDay: boolean, what: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) throw new HttpError(400, `${what} must be a date.`);
  const date = new Date(`${value}T${endOfDay ? '23:59:59' : '00:00:00'}Z`);
  if (Number.isNaN(date.getTime())) throw new HttpError(400, `${what} must be a date.`);
  return date;
}

/** A message the outbox refuses (an SMS over 1,600 characters) is the operator's to fix, not a 500. */
function asClientError(error: unknown): never {
  if (error instanceof InvalidMessageError) throw new HttpError(400, `The message cannot be sent: ${error.message}.`);
  if (error instanceof Error && /^(the reason|who sends it|the window)/.test(error.message))
    throw new HttpError(400, `${error.message[0]!.toUpperCase()}${error.message.slice(1)}.`);
  throw error;
}

export function messagesAdminRoutes(deps: AdminDeps): Router {
  const router = Router();
  const { db, clock } = deps;

  router.get('/admin/messages', async (req, res) => {
    const { status, page } = parseQuery(z.object({ status: z.enum(OUTBOX_STATUSES).optional(), page: pageNumber }), req.query);
    const [{ rows, more }, counts, notices] = await Promise.all([listMessages(db, { status, page }), statusCounts(db), recentNotices(db)]);
    // The operator sees whom a message is for only in part (enough to tell messages apart), and no sign-in code.
    const messages = rows.map((m) => ({ ...m, recipient: maskRecipient(m.recipient), subject: withoutCodes(m.subject) }));
    res.render('admin/messages/list', {
      title: 'Messages',
      section: 'messages',
      messages,
      more,
      page,
      status: status ?? '',
      counts,
      statuses: OUTBOX_STATUSES,
      notices,
      today: clock().toISOString().slice(0, 10),
    });
  });

  router.post('/admin/messages/:id/retry', async (req, res) => {
    if (!/^[1-9]\d{0,11}$/.test(String(req.params.id))) throw new HttpError(404, 'There is no such message.');
    const id = Number(req.params.id);
    const now = clock();
    const retried = await db.transaction().execute(async (tx) => {
      if (!(await requeueFailed(tx, id, now))) return false;
      await recordAudit(tx, { operatorId: operatorOf(req).id, action: 'message.retry', target: `outbox:${id}` }, now);
      return true;
    });
    if (!retried)
      throw new HttpError(
        409,
        "Only a failed message can be retried (not one whose customer was erased, nor one whose sign-in code or link was removed: re-send an order's confirmation from the order instead).",
      );
    flash(req, 'info', `Message ${id} is queued again.`);
    res.redirect(303, '/admin/messages?status=failed');
  });

  router.post('/admin/messages/notice', async (req: Request, res: Response) => {
    const form = parseBody(
      z.object({
        from: z.string().max(20),
        to: z.string().max(20),
        subject: z.string().max(300),
        message: z.string().max(MAX_BODY + 1000),
        reason: z.string().max(600),
      }),
      req.body,
    );
    const operator = operatorOf(req);
    const now = clock();
    const notice = {
      ordersFrom: day(form.from, false, 'The first day'),
      ordersTo: day(form.to, true, 'The last day'),
      subject: oneLine(form.subject, 'The subject'),
      text: bodyText(form.message),
      reason: form.reason,
      sentBy: operator.email,
    };
    const { noticeId, recipients } = await sendServiceNotice(db, notice, now).catch(asClientError);
    await recordAudit(
      db,
      {
        operatorId: operator.id,
        action: 'message.notice',
        target: `notice:${noticeId}`,
        detail: `${recipients} recipient(s), orders ${form.from} to ${form.to}: ${notice.reason.trim().slice(0, 300)}`,
      },
      now,
    );
    flash(req, 'info', `Service notice ${noticeId} is queued for ${recipients} customer${recipients === 1 ? '' : 's'}.`);
    res.redirect(303, '/admin/messages');
  });

  router.post('/admin/messages/marketing', async (req, res) => {
    const form = parseBody(
      z.object({ subject: z.string().max(300), message: z.string().max(MAX_BODY + 1000), confirm: z.string().optional() }),
      req.body,
    );
    if (form.confirm !== 'yes') throw new HttpError(400, 'Tick the box to confirm the marketing send.');
    const subject = oneLine(form.subject, 'The subject');
    const text = bodyText(form.message);
    const now = clock();
    const queued = await queueMarketing(db, { subject, text, publicUrl: deps.publicUrl, secret: deps.config.sessionSecret }, now).catch(
      asClientError,
    );
    await recordAudit(
      db,
      {
        operatorId: operatorOf(req).id,
        action: 'message.marketing',
        target: 'marketing',
        detail: `${queued} recipient(s): ${subject.slice(0, 200)}`,
      },
      now,
    );
    flash(req, 'info', `Marketing message queued for ${queued} opted-in customer${queued === 1 ? '' : 's'}.`);
    res.redirect(303, '/admin/messages');
  });

  return router;
}
