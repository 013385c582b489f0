import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Db } from '../db/database.js';
import { toDbTime } from '../db/dialect.js';
import { claimEncodings, encodingDone, encodingFailed, encodingInputs, encodingKey, jobDone, jobFailed } from './encodings.js';
import { encodeDelivery } from './ffmpeg.js';
import { FORMATS, isFormatId } from './formats.js';
import type { MediaStorage } from './storage.js';
import { buildZip, claimZip, type ZipEntry } from './zips.js';

export interface EncoderOptions {
  db: Db;
  storage: MediaStorage;
  /** null: no ffmpeg; the worker then makes release ZIPs only (MP3 imports need no encoding). */
  ffmpegPath: string | null;
  logger: Logger;
  clock?: () => Date;
  pollMs?: number;
  /** How long a claim is held: longer than any one encoding takes. */
  leaseMs?: number;
}

/**
 * The media worker every store process runs: it claims queued encodings one at a time (an encode
 * uses a whole core), fetches the master and cover from storage, makes the file with ffmpeg, stores
 * it under its content address and marks the row ready; then the release ZIPs queued for object
 * storage (zips.ts). A crash leaves a lease that runs out; the file is then made again, under the
 * same key, by whichever worker comes.
 */
export function createEncoder(options: EncoderOptions) {
  const { db, storage, ffmpegPath, logger, clock = () => new Date(), pollMs = 1000, leaseMs = 10 * 60_000 } = options;
  const workerId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`.slice(0, 64);
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> | undefined;

  async function fetchTo(key: string, file: string) {
    await pipeline(await storage.get(key), fs.createWriteStream(file));
  }

  async function encodeOne(ffmpegPath: string, job: { id: number; track_id: number; format: string; attempts: number }): Promise<void> {
    const work = await fsp.mkdtemp(path.join(os.tmpdir(), 'store-encode-'));
    try {
      const inputs = await encodingInputs(db, job.track_id);
      if (!inputs || !isFormatId(job.format)) throw new Error('the track or format no longer exists');
      const format = FORMATS[job.format];
      const master = path.join(work, `master${path.extname(inputs.master)}`);
      const cover = inputs.cover ? path.join(work, `cover${path.extname(inputs.cover)}`) : null;
      await fetchTo(inputs.master, master);
      if (cover) await fetchTo(inputs.cover!, cover);
      const output = path.join(work, `out.${format.extension}`);
      await encodeDelivery(ffmpegPath, {
        master,
        masterFormat: inputs.masterFormat,
        sampleRate: inputs.sampleRate,
        channels: inputs.channels,
        cover,
        format: job.format,
        tags: inputs.tags,
        output,
      });
      const key = encodingKey(job.format, inputs);
      await storage.putFile(key, output, { contentType: format.contentType });
      await encodingDone(db, job.id, workerId, key, (await fsp.stat(output)).size, toDbTime(clock()));
      logger.info({ encoding: job.id, track: job.track_id, format: job.format }, 'encoding made');
    } catch (error) {
      logger.warn({ err: error, encoding: job.id, format: job.format }, 'encoding failed');
      await encodingFailed(db, job.id, workerId, job.attempts, (error as Error).message ?? String(error), toDbTime(clock()));
    } finally {
      await fsp.rm(work, { recursive: true, force: true });
    }
  }

  async function zipOne(job: { id: number; output_key: string; entries: ZipEntry[]; attempts: number }): Promise<void> {
    try {
      const bytes = await buildZip(storage, job.output_key, job.entries);
      await jobDone(db, 'media_zips', job.id, workerId, job.output_key, bytes, toDbTime(clock()));
      logger.info({ zip: job.id, entries: job.entries.length }, 'release ZIP made');
    } catch (error) {
      logger.warn({ err: error, zip: job.id }, 'release ZIP failed');
      await jobFailed(db, 'media_zips', job.id, workerId, job.attempts, (error as Error).message ?? String(error), toDbTime(clock()));
    }
  }

  /** Works both queues until they are empty (encodings first: a ZIP waits for its tracks); resolves with how many jobs it handled. */
  async function drainOnce(): Promise<number> {
    let handled = 0;
    for (;;) {
      const [job] = ffmpegPath ? await claimEncodings(db, workerId, clock(), leaseMs, 1) : [];
      if (job) await encodeOne(ffmpegPath!, job);
      else {
        const zip = await claimZip(db, workerId, clock(), leaseMs);
        if (!zip) return handled;
        await zipOne(zip);
      }
      handled++;
    }
  }

  function schedule() {
    if (!running) return;
    timer = setTimeout(() => {
      current = drainOnce()
        .catch((err) => logger.error({ err }, 'encoding queue: claim failed'))
        .finally(schedule);
    }, pollMs);
    timer.unref();
  }

  return {
    workerId,
    drainOnce,
    start() {
      if (running) return;
      running = true;
      schedule();
    },
    /** Stops polling and waits for the encoding in hand to be recorded. */
    async stop() {
      running = false;
      clearTimeout(timer);
      await current;
    },
  };
}

export type Encoder = ReturnType<typeof createEncoder>;
