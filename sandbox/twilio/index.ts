/**
 * A local stand-in for Twilio's Messages API (2010-04-01): create a message and fetch it, with
 * HTTP Basic auth by account SID and auth token, requests checked against Twilio's official
 * OpenAPI document (specs/twilio), answers in its message-resource shape and errors in Twilio's
 * error shape ({ code, message, more_info, status }). It keeps what it received so the test-mode
 * messages page, and the tests, can see what would have gone to a phone. Nothing leaves the
 * machine. Mounted beside the store in the zero-configuration demo (/sandbox/sms), or on a port
 * of its own in tests, with a control handle to make it fail.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import express from 'express';
import { errorStatus, listen } from '../http-server.js';
import type { ErrorObject } from 'ajv';
import { ADDRESSABLE, loadTwilioSchemas, MESSAGE_ROUTE, MESSAGES_ROUTE, type TwilioSchemas } from './schemas.js';

export { loadTwilioSchemas, DEFAULT_TWILIO_SPEC } from './schemas.js';

export interface TwilioSandboxOptions {
  accountSid: string;
  authToken: string;
  clock?: () => Date;
  /** Another copy of Twilio's OpenAPI document (default: specs/twilio in the repository). */
  specFile?: string;
}

/** The message resource as Twilio documents it (api.v2010.account.message). */
export interface TwilioMessageResource {
  account_sid: string;
  api_version: string;
  body: string | null;
  date_created: string;
  date_sent: string | null;
  date_updated: string;
  direction: 'outbound-api';
  error_code: number | null;
  error_message: string | null;
  from: string | null;
  messaging_service_sid: string | null;
  num_media: string;
  num_segments: string;
  price: string | null;
  price_unit: string | null;
  sid: string;
  status: 'queued' | 'delivered';
  subresource_uris: { media: string };
  to: string;
  uri: string;
}

/** One message the stand-in accepted. */
export interface ReceivedSms {
  sid: string;
  to: string;
  from: string | null;
  body: string;
  /** ISO time it was received. */
  receivedAt: string;
  /** Every parameter of the request, typed as the document declares them. */
  params: Record<string, unknown>;
}

/** One request, as the test sees it: never its body (it carries numbers and texts). */
export interface TwilioRequestRecord {
  method: string;
  path: string;
  status: number;
}

export type TwilioFault = 'http500' | 'timeout';

export interface TwilioSandboxControl {
  readonly accountSid: string;
  /** The next create-message request (or the next `times`) fails this way: 500, or no answer at all. */
  failNext(mode: TwilioFault, times?: number): void;
  /** Messages accepted, oldest first. */
  messages(): ReceivedSms[];
  /** Every request with the status it got, oldest first ('timeout' ones with status 0). */
  requests(): TwilioRequestRecord[];
  /** Forgets messages, requests and pending faults, and drops any request held by 'timeout'. */
  reset(): void;
}

export interface TwilioSandbox {
  app: express.Express;
  control: TwilioSandboxControl;
  /** Drops requests held by a 'timeout' fault. */
  close(): void;
}

export interface RunningTwilioSandbox {
  /** Where it listens, e.g. http://127.0.0.1:41234: the store's TWILIO_API_BASE. */
  url: string;
  control: TwilioSandboxControl;
  close(): Promise<void>;
}

const API_VERSION = '2010-04-01';
const MAX_KEPT = 1000;
const MAX_BODY = 1600;

interface Context {
  accountSid: string;
  authToken: string;
  clock: () => Date;
  schemas: TwilioSchemas;
  messages: ReceivedSms[];
  resources: Map<string, TwilioMessageResource>;
  requests: TwilioRequestRecord[];
  faults: TwilioFault[];
  held: Set<http.ServerResponse>;
}

export function createTwilioSandbox(options: TwilioSandboxOptions): TwilioSandbox {
  const ctx: Context = {
    accountSid: options.accountSid,
    authToken: options.authToken,
    clock: options.clock ?? (() => new Date()),
    schemas: loadTwilioSchemas(options.specFile),
    messages: [],
    resources: new Map(),
    requests: [],
    faults: [],
    held: new Set(),
  };
  if (!/^AC[0-9a-fA-F]{32}$/.test(ctx.accountSid))
    throw new Error('Twilio stand-in: accountSid must look like AC followed by 32 hex digits');
  const releaseHeld = () => {
    for (const res of ctx.held) res.destroy();
    ctx.held.clear();
  };
  const control: TwilioSandboxControl = {
    accountSid: ctx.accountSid,
    failNext(mode, times = 1) {
      for (let i = 0; i < times; i++) ctx.faults.push(mode);
    },
    messages: () => ctx.messages.map((m) => ({ ...m, params: { ...m.params } })),
    requests: () => ctx.requests.map((r) => ({ ...r })),
    reset() {
      ctx.messages.length = 0;
      ctx.resources.clear();
      ctx.requests.length = 0;
      ctx.faults.length = 0;
      releaseHeld();
    },
  };
  return { app: assemble(ctx), control, close: releaseHeld };
}

export async function startTwilioSandbox(options: TwilioSandboxOptions & { port?: number; host?: string }): Promise<RunningTwilioSandbox> {
  const sandbox = createTwilioSandbox(options);
  const server = await listen(sandbox.app, options);
  return {
    url: server.url,
    control: sandbox.control,
    async close() {
      sandbox.close();
      await server.close();
    },
  };
}

/** A new account SID and auth token for a stand-in (the demo makes one per start). */
export function newStandInAccount(): { accountSid: string; authToken: string } {
  return { accountSid: `AC${randomBytes(16).toString('hex')}`, authToken: randomBytes(16).toString('hex') };
}

// ---------------------------------------------------------------------------------------------

function assemble(ctx: Context): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.use(express.text({ type: () => true, limit: '64kb' }));
  app.use((req, res, next) => {
    const record: TwilioRequestRecord = { method: req.method, path: req.path, status: 0 };
    ctx.requests.push(record);
    if (ctx.requests.length > MAX_KEPT) ctx.requests.shift();
    res.on('finish', () => (record.status = res.statusCode));
    next();
  });

  app.post('/2010-04-01/Accounts/:AccountSid/Messages.json', (req, res) => {
    const fault = ctx.faults.shift();
    if (fault === 'timeout') {
      ctx.held.add(res);
      res.on('close', () => ctx.held.delete(res));
      return; // the gateway took the request and never answers
    }
    if (fault === 'http500') return void twilioError(res, 500, 20500, 'Internal Server Error');
    if (!authorised(ctx, req, res, MESSAGES_ROUTE)) return;

    const form = isForm(req) && typeof req.body === 'string' ? new URLSearchParams(req.body) : new URLSearchParams();
    const { params, errors } = ctx.schemas.createMessage(form);
    const problem = firstProblem(params, errors);
    if (problem) return void twilioError(res, 400, problem.code, problem.message);

    const now = ctx.clock();
    const sid = `SM${randomBytes(16).toString('hex')}`;
    const body = (params.Body as string | undefined) ?? '';
    const resource: TwilioMessageResource = {
      account_sid: ctx.accountSid,
      api_version: API_VERSION,
      body,
      date_created: rfc2822(now),
      date_sent: null,
      date_updated: rfc2822(now),
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: (params.From as string | undefined) ?? null,
      messaging_service_sid: (params.MessagingServiceSid as string | undefined) ?? null,
      num_media: String(Array.isArray(params.MediaUrl) ? params.MediaUrl.length : 0),
      num_segments: String(segments(body)),
      price: null,
      price_unit: 'USD',
      sid,
      status: 'queued',
      subresource_uris: { media: `/${API_VERSION}/Accounts/${ctx.accountSid}/Messages/${sid}/Media.json` },
      to: params.To as string,
      uri: `/${API_VERSION}/Accounts/${ctx.accountSid}/Messages/${sid}.json`,
    };
    ctx.messages.push({ sid, to: resource.to, from: resource.from, body, receivedAt: now.toISOString(), params });
    // The stand-in delivers at once: a later fetch finds the message delivered.
    ctx.resources.set(sid, { ...resource, status: 'delivered', date_sent: resource.date_created });
    if (ctx.messages.length > MAX_KEPT) ctx.resources.delete(ctx.messages.shift()!.sid);
    res.status(201).json(resource);
  });

  app.get('/2010-04-01/Accounts/:AccountSid/Messages/:Sid.json', (req, res) => {
    if (!authorised(ctx, req, res, MESSAGE_ROUTE)) return;
    const resource = ctx.resources.get(String(req.params.Sid));
    if (!resource) return void notFound(req, res);
    res.status(200).json(resource);
  });

  app.use((req, res) => notFound(req, res));
  app.use(((err, _req, res, _next) => {
    const status = errorStatus(err);
    if (status === 500) console.error('Twilio stand-in: unexpected error', err);
    twilioError(
      res,
      status,
      status === 413 ? 21617 : status === 500 ? 20500 : 20001,
      status === 500 ? 'Internal Server Error' : 'The request could not be read',
    );
  }) satisfies express.ErrorRequestHandler);
  return app;
}

function isForm(req: express.Request): boolean {
  return (req.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}

/**
 * HTTP Basic with the account SID as user and the auth token as password, for the account named
 * in the path. A malformed SID in the path is refused as Twilio refuses it.
 */
function authorised(
  ctx: Context,
  req: express.Request,
  res: express.Response,
  route: typeof MESSAGES_ROUTE | typeof MESSAGE_ROUTE,
): boolean {
  const [scheme, encoded] = (req.get('authorization') ?? '').split(' ');
  const [user, ...rest] = scheme?.toLowerCase() === 'basic' && encoded ? Buffer.from(encoded, 'base64').toString('utf8').split(':') : [];
  const password = rest.join(':');
  if (user !== ctx.accountSid || !sameSecret(password, ctx.authToken)) {
    res.set('WWW-Authenticate', 'Basic realm="Twilio API"');
    twilioError(res, 401, 20003, 'Authenticate');
    return false;
  }
  const pathProblems = ctx.schemas.pathErrors(route, req.params as Record<string, string>);
  if (pathProblems.length) {
    notFound(req, res);
    return false;
  }
  if (req.params.AccountSid !== ctx.accountSid) {
    twilioError(res, 401, 20003, 'Authenticate');
    return false;
  }
  return true;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The first problem with a create request, with Twilio's error code for it: what the document's
 * schema refuses, then the conditions it states in x-twilio.conditional (a sender: From or
 * MessagingServiceSid; content: Body, MediaUrl or ContentSid), then the 1,600-character limit.
 */
function firstProblem(params: Record<string, unknown>, errors: ErrorObject[]): { code: number; message: string } | null {
  const field = (e: ErrorObject) => (e.params as { missingProperty?: string }).missingProperty ?? e.instancePath.split('/')[1] ?? '';
  const on = (name: string) => errors.find((e) => field(e) === name);
  if (on('To')?.keyword === 'required' || params.To === '') return { code: 21604, message: "A 'To' phone number is required." };
  if (on('To') || (typeof params.To === 'string' && !ADDRESSABLE.test(params.To)))
    return { code: 21211, message: "Invalid 'To' Phone Number" };
  if (on('From')) return { code: 21212, message: "Invalid 'From' Phone Number" };
  const other = errors.find((e) => !['To', 'From'].includes(field(e)));
  if (other) return { code: 20001, message: `Invalid parameter ${field(other) || '(body)'}: ${other.message ?? 'is not valid'}` };
  if (!params.From && !params.MessagingServiceSid) return { code: 21603, message: "A 'From' phone number is required." };
  if (!params.Body && !params.MediaUrl && !params.ContentSid) return { code: 21602, message: 'Message body is required.' };
  if (typeof params.Body === 'string' && [...params.Body].length > MAX_BODY)
    return { code: 21617, message: 'The concatenated message body exceeds the 1600 character limit.' };
  return null;
}

function twilioError(res: express.Response, status: number, code: number, message: string): void {
  res.status(status).json({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}

function notFound(req: express.Request, res: express.Response): void {
  twilioError(res, 404, 20404, `The requested resource ${req.path} was not found`);
}

/** 'Thu, 24 Aug 2023 05:01:45 +0000', as Twilio writes its dates. */
function rfc2822(date: Date): string {
  return date.toUTCString().replace('GMT', '+0000');
}

/** GSM-7 text goes 160 characters to one SMS (153 when split); anything else is UCS-2, 70 (67). */
const GSM7 = /^[@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&'()*+,\-./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà^{}\\[~\]|€]*$/;
export function segments(body: string): number {
  const length = [...body].length;
  if (length === 0) return 1;
  const [single, part] = GSM7.test(body) ? [160, 153] : [70, 67];
  return length <= single ? 1 : Math.ceil(length / part);
}
