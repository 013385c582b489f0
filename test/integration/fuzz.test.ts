import { createHmac } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from '../helpers/databases.js';
import { buyWithPayPal } from '../helpers/purchase.js';
import { Shopper } from '../helpers/shopper.js';
import { startTestStore, type TestStore } from '../helpers/store.js';

/**
 * Malformed requests over real HTTP to a real store: random paths, methods, headers, cookies,
 * bodies and query values. None may be answered with a 5xx or show internals, and the store must
 * still answer /healthz afterwards. FUZZ_RUNS sets the requests per database (5,000 by default,
 * 10,000 over both); FUZZ_SEED replays a failing run (fast-check prints the seed and the shrunk
 * request on failure).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 5000);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const RAW_RUNS = Math.max(50, Math.round(RUNS / 20));
/** Node's default limit on a request's line and headers, and the largest body any of the store's parsers takes. */
const NODE_MAX_HEADER_BYTES = 16 * 1024;
const BODY_LIMIT_BYTES = 20 * 1024;

/** What a stack trace or an internal path looks like in a response body. */
const INTERNALS = [
  /\n\s+at .+:\d+:\d+/,
  /node_modules/,
  new RegExp(process.cwd().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
  /\.ts:\d+/,
  /SQLITE_|ER_[A-Z_]+|SqliteError/,
];

/** Route prefixes the store serves, with and without trailing junk, so fuzzing reaches handlers and not only the 404 page. */
const ROUTES = [
  '/',
  '/search',
  '/artist/',
  '/release/',
  '/genre/',
  '/preview/',
  '/cover/',
  '/sitemap.xml',
  '/robots.txt',
  '/healthz',
  '/static/',
  '/basket',
  '/basket/add',
  '/basket/remove',
  '/checkout',
  '/checkout/paypal/return',
  '/checkout/paypal/cancel',
  '/checkout/payforit/return',
  '/notifications/payforit',
  '/webhooks/paypal',
  '/webhooks/twilio/sms',
  '/orders/',
  '/account',
  '/account/sign-in',
  '/account/code',
  '/account/link/',
  '/account/music',
  '/account/preferences',
  '/account/sign-out',
  '/download/track/',
  '/download/release/',
  '/affiliate',
  '/affiliate/sign-in',
  '/affiliate/code',
  '/affiliate/sign-out',
  '/privacy',
  '/cookies',
  '/consent',
  '/contact',
  '/unsubscribe/',
  '/admin',
  '/admin/',
  '/stats',
];
const QUERY_KEYS = [
  'q',
  'page',
  'type',
  'token',
  'PayerID',
  'a',
  'id',
  'kind',
  'back',
  'ref',
  'transaction_id',
  'status',
  'from',
  'to',
  '_csrf',
];
const FORM_KEYS = [
  '_csrf',
  'kind',
  'id',
  'back',
  'method',
  'adult',
  'marketing',
  'email',
  'msisdn',
  'contact',
  'code',
  'message',
  'choice',
  'consent',
  'q',
  'page',
];

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const junkText = fc.oneof(
  w(4, fc.string({ maxLength: 40 })),
  w(2, fc.string({ unit: 'grapheme', maxLength: 20 })),
  w(2, fc.string({ unit: 'binary', maxLength: 20 })),
  w(
    4,
    fc.constantFrom(
      '',
      '0',
      '-1',
      '1e309',
      '9'.repeat(40),
      'NaN',
      'null',
      'undefined',
      '[object Object]',
      '__proto__',
      'constructor',
      '../../etc/passwd',
      '..%2f..%2fetc%2fpasswd',
      '%00',
      '\u0000',
      "' OR 1=1 --",
      '<script>alert(1)</script>',
      '😀',
      'ß',
      '\u202e',
    ),
  ),
  w(
    1,
    fc.integer({ min: 1, max: 200_000 }).map((n) => 'x'.repeat(n)),
  ),
  w(2, fc.oneof(fc.integer(), fc.double(), fc.bigInt()).map(String)),
);

/** Percent-encodes everything a URL path cannot carry raw; sometimes leaves broken escapes in on purpose. */
const encodeSegment = (s: string) => encodeURIComponent(s).replace(/%2F/gi, (m) => (s.length % 3 === 0 ? '/' : m));
const pathSegment = fc.oneof(
  junkText.map(encodeSegment),
  fc.constantFrom(
    '..',
    '.',
    '%',
    '%ZZ',
    '%c0%af',
    '%2e%2e',
    '%00',
    '%ff',
    '%e2%80%ae',
    '..%5c',
    '\\',
    '//evil.example',
    '42',
    '42.mp3',
    '1.zip',
    '0',
    '-5',
    '99999999999999999999',
    'a'.repeat(300),
  ),
);
const path = fc
  .tuple(
    fc.constantFrom(...ROUTES),
    fc.oneof(w(3, fc.constant([])), w(4, fc.array(pathSegment, { minLength: 1, maxLength: 3 }))),
    fc.boolean(),
  )
  .map(
    ([route, segments, slash]) =>
      (route.endsWith('/') ? route : route + (segments.length ? '/' : '')) + segments.join('/') + (slash ? '/' : ''),
  )
  .map((p) => (p.length > 7000 ? p.slice(0, 7000) : p));

const queryValue = fc.oneof(
  junkText,
  fc.integer({ min: -(2 ** 53), max: 2 ** 53 }).map(String),
  fc.constantFrom('1', '2', '10001', '1.5', '0x10', '1e3', 'tracks', 'releases', 'artists'),
);
const queryPart = fc
  .tuple(fc.constantFrom(...QUERY_KEYS, 'q[]', 'page[]', 'q[a]', 'a[]', '__proto__[x]', ''), queryValue, fc.boolean())
  .map(([key, value, raw]) =>
    raw ? `${key}=${value.replace(/[^\x21-\x7e]/g, '')}` : `${encodeURIComponent(key)}=${encodeURIComponent(value)}`,
  );
const query = fc.oneof(
  w(3, fc.constant('')),
  w(
    5,
    fc.array(queryPart, { minLength: 1, maxLength: 6 }).map((parts) => `?${parts.join('&')}`),
  ),
  w(1, fc.constantFrom('?', '?&&=&', '?q', '?q=%', '?q=%E0%A4%A', '?a=1&a=2', '?page=1&page=2')),
);

// Node itself answers 400 to a method it does not know: a few of those are enough.
const method = fc.oneof(
  w(12, fc.constantFrom('GET', 'GET', 'GET', 'POST', 'POST', 'HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS')),
  w(1, fc.stringMatching(/^[A-Z]{1,10}$/)),
);

/** Header values limited to what a client can put on the wire (Node refuses control characters). */
const headerSafe = (s: string) =>
  Buffer.from(s, 'latin1')
    .toString('latin1')
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, '');
const contentType = fc.constantFrom(
  undefined,
  'application/x-www-form-urlencoded',
  'application/json',
  'application/json; charset=utf-16',
  'application/x-www-form-urlencoded; charset=koi8-r',
  'text/plain',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  ';;;',
  'application/json; charset=nonsense',
  '*/*',
);

interface Identity {
  cookie?: string;
  csrf?: string;
}

describe.each(databaseKinds())('fuzzing the store over HTTP on $kind', ({ kind, skip }) => {
  let store: TestStore;
  let identities: Identity[] = [];
  /** Real pages of this store: the buyer's order, downloads, a release. */
  let knownPaths: string[] = [];
  let agent: http.Agent;

  beforeAll(async () => {
    if (skip) return;
    store = await startTestStore(kind);
    agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const release = await store.database.db.selectFrom('releases').select(['id', 'slug']).orderBy('id').executeTakeFirstOrThrow();
    // A real visitor token, and a shopper with a real session and a basket, so fuzzed forms reach the handlers behind CSRF.
    const visitor = new Shopper(store.baseUrl);
    const visitorToken = (await visitor.get(`/release/${release.slug}`)).html.querySelector('input[name="_csrf"]')!.getAttribute('value')!;
    const shopper = new Shopper(store.baseUrl);
    await shopper.get(`/release/${release.slug}`);
    await shopper.post('/basket/add', { kind: 'release', id: String(release.id) });
    const sessionToken = (await shopper.get('/basket')).html.querySelector('input[name="_csrf"]')!.getAttribute('value')!;
    const buyer = await signedInBuyer(release);
    identities = [{}, { csrf: visitorToken }, { cookie: `sid=${shopper.cookie('sid')}`, csrf: sessionToken }, buyer.identity];
    knownPaths = [
      `/release/${release.slug}`,
      `/orders/${buyer.reference}`,
      `/orders/${buyer.reference}/check`,
      `/orders/${buyer.reference}/retry`,
      `/download/release/${release.id}.zip`,
      `/download/track/${buyer.trackId}`,
      `/preview/${buyer.trackId}.mp3`,
      `/cover/${release.id}`,
    ];
  });
  afterAll(async () => {
    agent?.destroy();
    await store?.close();
  });

  /**
   * A shopper who paid for a release through the PayPal stand-in and is signed in: the paid order
   * made the customer; the sign-in is written into the session row, as signing in with a code would.
   */
  async function signedInBuyer(release: { id: number; slug: string }) {
    const { shopper: buyer, orderPage: paid } = await buyWithPayPal(store, 'fuzz@example.com', { release });
    expect(paid.status).toBe(200);
    const db = store.database.db;
    const order = await db
      .selectFrom('orders')
      .select(['id', 'customer_id', 'reference'])
      .where('status', '=', 'paid')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    const entitlement = await db.selectFrom('entitlements').select('track_id').where('order_id', '=', order.id).executeTakeFirstOrThrow();
    const sid = /^s:([^.]+)\./.exec(decodeURIComponent(buyer.cookie('sid')!))![1]!;
    const row = await db.selectFrom('sessions').select('data').where('sid', '=', sid).executeTakeFirstOrThrow();
    const now = Date.now();
    await db
      .updateTable('sessions')
      .set({ data: JSON.stringify({ ...JSON.parse(row.data), customerId: order.customer_id, signedInAt: now, lastSeenAt: now }) })
      .where('sid', '=', sid)
      .execute();
    const page = await buyer.get('/account/music');
    expect(page.status).toBe(200);
    expect(page.text).toContain('fuzz@example.com');
    return {
      identity: { cookie: `sid=${buyer.cookie('sid')}`, csrf: page.html.querySelector('input[name="_csrf"]')!.getAttribute('value')! },
      reference: order.reference,
      trackId: entitlement.track_id,
    };
  }

  /** A session cookie signed with the store's own secret, for a session that does not exist (or a malformed id). */
  const forgedSid = (sid: string) =>
    `s:${sid}.${createHmac('sha256', store.config.sessionSecret).update(sid).digest('base64').replace(/=+$/, '')}`;
  const cookie = () =>
    fc.oneof(
      w(6, fc.constant(undefined)),
      w(4, fc.constant('own')),
      w(
        2,
        junkText.map((v) => `sid=${headerSafe(v)}`),
      ),
      w(
        2,
        junkText.map((v) => `sid=${encodeURIComponent(forgedSid(v))}`),
      ),
      w(
        2,
        junkText.map((v) => `a=${headerSafe(v)}`),
      ),
      w(
        2,
        fc.constantFrom(
          'a=1',
          'a=0',
          'a=-1',
          'a=99999999999999999999',
          'a=1; a=2',
          'consent=yes',
          'consent=maybe',
          'sid=s%3A',
          'sid=%',
          '=;;=;',
          'a',
        ),
      ),
      w(
        1,
        fc.integer({ min: 1000, max: 12_000 }).map((n) => `junk=${'c'.repeat(n)}`),
      ),
    );
  const body = fc.oneof(
    w(5, fc.constant(undefined)),
    w(
      6,
      fc
        .dictionary(fc.constantFrom(...FORM_KEYS, 'items[0][price]', 'kind[]', '__proto__'), junkText, { maxKeys: 6 })
        .map((form) => ({ form })),
    ),
    w(
      1,
      junkText.map((text) => ({ raw: Buffer.from(text) })),
    ),
    w(
      1,
      fc.uint8Array({ maxLength: 2000 }).map((bytes) => ({ raw: Buffer.from(bytes) })),
    ),
    w(
      1,
      fc
        .constantFrom(
          '{',
          '{"_csrf":',
          '[]',
          'null',
          '"x"',
          '{"__proto__":{"admin":true}}',
          '{"kind":{"$gt":""}}',
          '%',
          'a=%',
          '&&&===',
          'kind=track&kind=release&id=1&id=2',
        )
        .map((text) => ({ raw: Buffer.from(text) })),
    ),
    w(
      1,
      fc.integer({ min: 20_000, max: 300_000 }).map((n) => ({ raw: Buffer.from(`q=${'y'.repeat(n)}`) })),
    ),
  );
  const request = () =>
    fc.record({
      method,
      path: fc.oneof(
        w(4, path),
        w(1, fc.constantFrom(...knownPaths)),
        w(
          1,
          fc.tuple(fc.constantFrom(...knownPaths), pathSegment).map(([p, junk]) => `${p}${junk}`),
        ),
      ),
      query,
      identity: fc.nat({ max: identities.length - 1 }),
      cookie: cookie(),
      contentType: fc.oneof(w(3, fc.constant('application/x-www-form-urlencoded')), w(2, contentType)),
      body,
      accept: fc.constantFrom(undefined, 'text/html', 'application/json', '*/*', 'image/png', 'nonsense'),
      extraHeaders: fc.oneof(
        w(3, fc.constant({})),
        w(
          2,
          fc.dictionary(
            fc.constantFrom(
              'origin',
              'sec-fetch-site',
              'x-forwarded-for',
              'x-forwarded-proto',
              'host',
              'range',
              'if-none-match',
              'x-csrf-token',
              'accept-language',
              'referer',
              'paypal-transmission-sig',
              'x-twilio-signature',
              'user-agent',
            ),
            junkText.map(headerSafe),
            { maxKeys: 3 },
          ),
        ),
      ),
    });
  type FuzzRequest = ReturnType<ReturnType<typeof request>['generate']>['value'];

  function send(r: FuzzRequest): Promise<{ status: number; type: string; text: string }> {
    const identity = identities[r.identity]!;
    let payload: Buffer | undefined;
    if (r.body && 'form' in r.body) {
      const form = new URLSearchParams(identity.csrf ? { _csrf: identity.csrf } : {});
      for (const [k, v] of Object.entries(r.body.form)) form.append(k, v);
      payload = Buffer.from(form.toString());
    } else if (r.body) payload = r.body.raw;
    const cookies = [r.cookie === 'own' ? identity.cookie : r.cookie, r.cookie === 'own' ? undefined : identity.cookie]
      .filter(Boolean)
      .join('; ');
    const headers: Record<string, string> = { ...r.extraHeaders };
    if (r.contentType) headers['content-type'] = r.contentType;
    if (r.accept) headers.accept = r.accept;
    if (cookies) headers.cookie = cookies;
    if (headers.host !== undefined && headers.host.trim() === '') delete headers.host;
    if (payload) headers['content-length'] = String(payload.length);
    const refusedByNode =
      !http.METHODS.includes(r.method) ||
      `${r.path}${r.query}`.length + Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0) >
        NODE_MAX_HEADER_BYTES ||
      (payload?.length ?? 0) > BODY_LIMIT_BYTES;
    return new Promise((resolve, reject) => {
      // Node refuses an unknown method or an oversized request by answering 400/431/413 and closing the connection, often while the client is still writing: a reset, not an answer.
      const failed = (error: Error) =>
        refusedByNode && /ECONNRESET|EPIPE|socket hang up/.test(error.message) ? resolve({ status: 0, type: '', text: '' }) : reject(error);
      const req = http.request(`${store.baseUrl}${r.path}${r.query}`, { method: r.method, headers, agent, timeout: 15_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            type: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', failed);
      });
      req.on('timeout', () => req.destroy(new Error('no answer in 15 s')));
      req.on('error', failed);
      req.end(payload);
    });
  }

  const describeRequest = (r: FuzzRequest) =>
    JSON.stringify({
      ...r,
      body: r.body && 'raw' in r.body ? `${r.body.raw.length} bytes: ${r.body.raw.subarray(0, 80).toString('latin1')}` : r.body,
    }).slice(0, 2000);

  it.skipIf(skip)(`answers ${RUNS} malformed requests without a 5xx or a stack trace, and stays up`, { timeout: 300_000 }, async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request(), async (r) => {
        const { status, type, text } = await send(r);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 0) {
          // Refused by Node's HTTP parser: the store itself must still be answering.
          expect((await fetch(`${store.baseUrl}/healthz`)).status).toBe(200);
          return;
        }
        if (status >= 500) throw new Error(`${status} for ${describeRequest(r)}: ${text.slice(0, 300)}`);
        for (const pattern of INTERNALS) {
          if (pattern.test(text)) throw new Error(`internals (${pattern}) in a ${status} ${type} answer to ${describeRequest(r)}`);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: false, interruptAfterTimeLimit: 280_000 },
    );
    // The fuzz reached past the front door: pages, client errors and redirects all occurred.
    expect(statuses.get(200)).toBeGreaterThan(RUNS / 50);
    expect([...statuses.keys()].some((s) => s >= 300 && s < 400)).toBe(true);
    expect([...statuses.keys()].filter((s) => s >= 400).length).toBeGreaterThan(2);
    const health = await fetch(`${store.baseUrl}/healthz`);
    expect(health.status).toBe(200);
  });

  it.skipIf(skip)(
    `answers ${RAW_RUNS} broken HTTP messages (bad request lines, lying content-length, raw bytes) without a 5xx, and stays up`,
    async () => {
      const { port } = new URL(store.baseUrl);
      const rawMessage = fc.oneof(
        fc
          .tuple(fc.constantFrom('GET', 'POST', 'BREW'), fc.uint8Array({ minLength: 1, maxLength: 200 }))
          .map(([m, bytes]) =>
            Buffer.concat([Buffer.from(`${m} /`), Buffer.from(bytes), Buffer.from(' HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]),
          ),
        fc
          .tuple(fc.nat({ max: 5000 }), fc.string({ maxLength: 50 }))
          .map(([claimed, text]) =>
            Buffer.from(
              `POST /basket/add HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${claimed}\r\nConnection: close\r\n\r\n${text}`,
            ),
          ),
        fc
          .constantFrom(
            'POST /checkout HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\nConnection: close\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n',
            'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello',
            'GET / HTTP/9.9\r\n\r\n',
            'GET\r\n\r\n',
            '\r\n\r\n\r\n',
          )
          .map((s) => Buffer.from(s)),
        fc.uint8Array({ minLength: 1, maxLength: 3000 }).map((bytes) => Buffer.from(bytes)),
      );
      await fc.assert(
        fc.asyncProperty(rawMessage, async (message) => {
          const answer = await rawExchange(Number(port), message);
          const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? 0);
          if (status >= 500) throw new Error(`${status} for raw message ${JSON.stringify(message.subarray(0, 200).toString('latin1'))}`);
        }),
        { numRuns: RAW_RUNS, seed: SEED },
      );
      expect((await fetch(`${store.baseUrl}/healthz`)).status).toBe(200);
    },
  );
});

/** Writes bytes on a fresh connection and reads the answer, if any, for up to a second after the client stops writing. */
function rawExchange(port: number, message: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      socket.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const timer = setTimeout(done, 1000);
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      done();
    });
    socket.end(message);
  });
}
