/**
 * Generates the demo music library: folders of tagged, playable MP3s with cover art, synthesised
 * from a fixed plan and seeds, so every run produces the same files.
 */

import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { demoTracks } from './catalogue-plan.js';
import { coverPng } from './cover.js';
import type { WorkerReply } from './render-worker.js';
import type { TrackJob } from './track-writer.js';

export interface DemoLibraryOptions {
  onProgress?: (done: number, total: number) => void;
  /** Multiplies track lengths (1: 35-75 s) by playing them faster; tests use ~0.1 for a quick library of the same shape. */
  tracksScale?: number;
}

const MAX_WORKERS = 2;

/**
 * Encoding is CPU-bound, so tracks are made in child processes. Not worker_threads: on Node 20,
 * tsx's loader does not reach worker threads, so a worker cannot load our .ts modules; a child
 * process is given the loader explicitly instead (and needs none once compiled to .js).
 */
function forkWorker() {
  const self = fileURLToPath(import.meta.url);
  const extension = path.extname(self);
  const execArgv = extension === '.ts' ? ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href] : [];
  return fork(path.join(path.dirname(self), `render-worker${extension}`), { execArgv, serialization: 'advanced' });
}

/** Runs a batch of jobs in a worker process; resolves when all are written, rejects on the first failure. */
function runWorker(child: ChildProcess, jobs: TrackJob[], onDone: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = jobs.length;
    child.on('message', (reply: WorkerReply) => {
      if ('error' in reply) {
        child.kill();
        reject(new Error(`demo track failed: ${reply.error}`));
        return;
      }
      onDone();
      if (--left === 0) child.disconnect(); // lets the child exit
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => (left === 0 ? resolve() : reject(new Error(`demo track worker exited with ${code ?? signal}`))));
    child.send(jobs);
  });
}

export async function generateDemoLibrary(dir: string, opts: DemoLibraryOptions = {}): Promise<{ files: string[] }> {
  const tracks = demoTracks();
  const tracksScale = opts.tracksScale ?? 1;
  const workers = Array.from({ length: Math.min(MAX_WORKERS, availableParallelism(), tracks.length) }, forkWorker);
  // Drawn while the workers start up; each release's cover is embedded in all of its tracks.
  const releases = new Map(tracks.map((t) => [t.releaseIndex, t.releaseSeed]));
  const covers = new Map([...releases].map(([index, seed]) => [index, coverPng(seed, index)]));
  const jobs = tracks.map((track): TrackJob => ({
    track,
    file: path.join(dir, ...track.path),
    cover: covers.get(track.releaseIndex)!,
    tracksScale,
  }));
  let done = 0;
  const onDone = () => opts.onProgress?.(++done, jobs.length);
  // Every other track to each worker: costs even out without a shared queue.
  const batches = workers.map((_, w) => jobs.filter((_, i) => i % workers.length === w));
  try {
    await Promise.all(workers.map((child, w) => runWorker(child, batches[w], onDone)));
  } finally {
    for (const child of workers) if (child.connected) child.kill();
  }
  return { files: jobs.map((job) => job.file) };
}
