import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createPresigner } from './s3-presign.js';
import { attachmentHeader, checkKey, MediaMissingError, type MediaStorage } from './storage.js';

import type { S3Settings } from '../config.js';

const isMissing = (error: unknown) => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
};

/** The SDK's client for the bucket S3_* names (also what the bench and the tests compare the store's signing with). */
export function s3Client(settings: S3Settings): S3Client {
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    // Checksums on every request and response are what new SDKs default to; many S3-compatible
    // stores answer without them, so they are asked for only where an operation needs one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * S3-compatible object storage through the AWS SDK. Downloads never stream through the store:
 * the route checks ownership and redirects to a presigned GET whose response headers
 * (Content-Disposition, Content-Type, Cache-Control) are part of the signature.
 */
export function createS3Storage(settings: S3Settings): MediaStorage {
  const client = s3Client(settings);
  const Bucket = settings.bucket;
  const presign = createPresigner(client, settings);

  return {
    kind: 's3',
    location: `s3://${Bucket}${settings.endpoint ? ` at ${settings.endpoint}` : ''}`,
    async put(key, data, options = {}) {
      await client.send(new PutObjectCommand({ Bucket, Key: checkKey(key), Body: data, ContentType: options.contentType }));
    },
    async putFile(key, file, options = {}) {
      const { size } = await fsp.stat(file);
      await client.send(
        new PutObjectCommand({
          Bucket,
          Key: checkKey(key),
          Body: fs.createReadStream(file),
          ContentLength: size,
          ContentType: options.contentType,
        }),
      );
    },
    async get(key, range) {
      try {
        const answer = await client.send(
          new GetObjectCommand({ Bucket, Key: checkKey(key), Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
        );
        return answer.Body as Readable;
      } catch (error) {
        if (isMissing(error)) throw new MediaMissingError(key);
        throw error;
      }
    },
    async stat(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key: checkKey(key) }));
        return { size: head.ContentLength ?? 0 };
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: checkKey(key) }));
    },
    async *list(prefix = '') {
      for await (const page of paginateListObjectsV2({ client }, { Bucket, Prefix: prefix })) {
        for (const object of page.Contents ?? []) if (object.Key) yield { key: object.Key, size: object.Size ?? 0 };
      }
    },
    async presignedUrl(key, options) {
      return presign({
        key: checkKey(key),
        expiresSeconds: options.expiresSeconds,
        contentDisposition: options.fileName ? attachmentHeader(options.fileName) : undefined,
        contentType: options.contentType,
        cacheControl: options.cacheControl,
        signedAt: options.signedAt,
      });
    },
  };
}
