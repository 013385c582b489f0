import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import type { S3Settings } from '../config.js';

/** What a presigned GET asks the object store to answer with: the headers are part of the signature. */
export interface PresignRequest {
  key: string;
  expiresSeconds: number;
  contentDisposition?: string;
  contentType?: string;
  cacheControl?: string;
  /** When the URL is signed (default now); its life is counted from here by the object store. */
  signedAt?: Date;
}

/** Where the bucket's objects are, as the SDK resolves it (an object is at origin + prefix + "/" + key), and what SigV4 signs for. */
interface ObjectEndpoint {
  origin: URL;
  /** The path before the key: '' (virtual-hosted) or '/bucket' (path style). */
  prefix: string;
  region: string;
  service: string;
}

/** SHA-256 and HMAC-SHA256 from node:crypto, in the shape the signer asks for (its own lives in another @smithy package). */
class Sha256 {
  private hash: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.make();
  }
  private make(): Hash | Hmac {
    if (this.secret === undefined) return createHash('sha256');
    const secret = this.secret;
    const key =
      typeof secret === 'string'
        ? secret
        : ArrayBuffer.isView(secret)
          ? new Uint8Array(secret.buffer, secret.byteOffset, secret.byteLength)
          : new Uint8Array(secret);
    return createHmac('sha256', key);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.make();
  }
}

/** RFC 3986 encoding, as SigV4's canonical query string has it (encodeURIComponent leaves !'()* alone). */
const escape = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Presigned GETs for downloads, signed by @smithy/signature-v4 directly: the SDK's getSignedUrl
 * builds a client middleware stack and resolves the endpoint and credentials on every call, which
 * cost about 0.7 ms of CPU per URL, most of a download's budget; the signer alone costs under a tenth
 * of that. The endpoint (virtual-hosted or path style, the region AWS signs for) is resolved once by
 * the SDK itself from a probe URL, so the two cannot disagree about where an object is; the
 * credentials are the static ones S3_* gives, and the signer caches its signing key per day.
 */
export function createPresigner(client: S3Client, settings: S3Settings) {
  let endpoint: Promise<ObjectEndpoint> | undefined;
  const signer = new SignatureV4({
    service: 's3',
    region: settings.region,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    sha256: Sha256,
    // S3 signs the path as sent (keys are escaped once); the payload of a GET is not signed.
    uriEscapePath: false,
    applyChecksum: false,
  });

  async function resolveEndpoint(): Promise<ObjectEndpoint> {
    const probe = new URL(await getSignedUrl(client, new GetObjectCommand({ Bucket: settings.bucket, Key: 'probe' }), { expiresIn: 60 }));
    if (!probe.pathname.endsWith('/probe')) throw new Error(`S3: cannot tell where objects are from ${probe.origin}${probe.pathname}`);
    const [, , region, service] = (probe.searchParams.get('X-Amz-Credential') ?? '').split('/');
    return {
      origin: new URL(probe.origin),
      prefix: probe.pathname.slice(0, -'/probe'.length),
      region: region || settings.region,
      service: service || 's3',
    };
  }

  return async function presign(request: PresignRequest): Promise<string> {
    endpoint ??= resolveEndpoint().catch((error: unknown) => {
      endpoint = undefined; // tried again next time
      throw error;
    });
    const { origin, prefix, region, service } = await endpoint;
    const query: Record<string, string> = { 'x-id': 'GetObject' };
    if (request.contentDisposition) query['response-content-disposition'] = request.contentDisposition;
    if (request.contentType) query['response-content-type'] = request.contentType;
    if (request.cacheControl) query['response-cache-control'] = request.cacheControl;
    const path = `${prefix}/${request.key}`;
    const signed = await signer.presign(
      {
        method: 'GET',
        protocol: origin.protocol,
        hostname: origin.hostname,
        port: origin.port ? Number(origin.port) : undefined,
        path,
        query,
        headers: { host: origin.host, 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
      },
      { expiresIn: request.expiresSeconds, signingDate: request.signedAt, signingRegion: region, signingService: service },
    );
    const search = Object.entries(signed.query ?? {})
      .map(([name, value]) => `${escape(name)}=${escape(String(value))}`)
      .sort()
      .join('&');
    return `${origin.origin}${path}?${search}`;
  };
}
