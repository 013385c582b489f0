import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// s3rver: a local S3-compatible server in Node (its own npm package; MinIO is neither in Debian nor on npm).
// It answers presigned GETs with Range and response-* overrides, and refuses an expired one, but it
// does not check SigV4 signatures at all (lib/middleware/authentication.js: "Signature version 4
// calculation is unimplemented"; any signature from a known access key passes). So the test server
// puts a SigV4 check of presigned GETs in front of it (verifyPresignedUrl below, written from AWS's
// description of SigV4, not from the store's signer), and a tampered URL is refused as S3 would.
import S3rver from 's3rver';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** The store's settings for this bucket (MEDIA_STORAGE=s3 and S3_*). */
  env: Record<string, string>;
  close(): Promise<void>;
}

const ACCESS_KEY = 'S3RVER';
const SECRET_KEY = 'S3RVER';

/** An S3-compatible server on a free loopback port, with one empty bucket, its objects in a temporary folder. */
export async function startTestS3(bucket = 'store-media'): Promise<TestS3> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'store-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  // First in Koa's chain (composed when the server starts listening): presigned GETs and HEADs are checked here.
  (server as unknown as { middleware: unknown[] }).middleware.unshift(
    async (
      ctx: { method: string; url: string; headers: Record<string, string>; status: number; body: string; type: string },
      next: () => Promise<void>,
    ) => {
      const url = new URL(ctx.url, `http://${ctx.headers.host}`);
      if (url.searchParams.has('X-Amz-Signature') && !verifyPresignedUrl(ctx.method, url, ctx.headers, SECRET_KEY)) {
        ctx.status = 403;
        ctx.type = 'application/xml';
        ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code></Error>';
        return;
      }
      await next();
    },
  );
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    bucket,
    env: {
      MEDIA_STORAGE: 's3',
      S3_ENDPOINT: endpoint,
      S3_BUCKET: bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: ACCESS_KEY,
      S3_SECRET_ACCESS_KEY: SECRET_KEY,
      S3_FORCE_PATH_STYLE: 'true',
    },
    async close() {
      await server.close();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** Both storages, for describe.each: the local folder and a local S3 server (started in beforeAll). */
export const storageKinds = () => [{ storage: 'local' as const }, { storage: 's3' as const }];

/** RFC 3986 percent-encoding, as SigV4 canonicalises query names and values. */
const uriEncode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/**
 * Whether a presigned S3 request carries a valid SigV4 signature for `secret`, recomputed from the
 * request as received, step by step as AWS documents it ("Authenticating requests: using query
 * parameters"): canonical request (method, the path as sent, the sorted and encoded query without
 * the signature, the signed headers, UNSIGNED-PAYLOAD), string to sign, and the key derived from
 * the secret, date, region and service. Expiry is s3rver's own check.
 */
export function verifyPresignedUrl(
  method: string,
  url: URL,
  headers: Record<string, string | string[] | undefined>,
  secret: string,
): boolean {
  const query = url.searchParams;
  const credential = query.get('X-Amz-Credential')?.split('/') ?? [];
  const [, date, region, service, terminator] = credential;
  const amzDate = query.get('X-Amz-Date') ?? '';
  const signedHeaders = (query.get('X-Amz-SignedHeaders') ?? '').split(';');
  if (query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256' || !date || !region || !service || terminator !== 'aws4_request') return false;
  if (!amzDate.startsWith(date) || !signedHeaders.includes('host')) return false;
  const canonicalQuery = [...query.entries()]
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const canonicalHeaders = signedHeaders
    .map(
      (name) =>
        `${name}:${String(headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}\n`,
    )
    .join('');
  const canonicalRequest = [method, url.pathname, canonicalQuery, canonicalHeaders, signedHeaders.join(';'), 'UNSIGNED-PAYLOAD'].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = hmac(signingKey, stringToSign);
  const given = Buffer.from(query.get('X-Amz-Signature') ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The secret the test server's access key signs with (for tests that recompute a signature). */
export const TEST_S3_SECRET = SECRET_KEY;
