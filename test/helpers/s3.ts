import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// s3rver: a local S3-compatible server in Node (its own npm package; MinIO is neither in Debian nor on npm).
// It checks V4 signatures of API calls and answers presigned GETs with Range and response-* overrides.
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
