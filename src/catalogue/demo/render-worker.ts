/**
 * Child process that writes the batch of demo tracks its parent sends (see library.ts), reporting
 * each. It works through the batch without returning to the event loop: measured under tsx, idling
 * between tracks made the lamejs encoder run up to twice as slow.
 */

import { writeDemoTrack, type TrackJob } from './track-writer.js';

export type WorkerReply = { ok: true } | { error: string };

const reply = (message: WorkerReply) => process.send!(message);

process.once('message', (jobs: TrackJob[]) => {
  try {
    for (const job of jobs) {
      writeDemoTrack(job);
      reply({ ok: true });
    }
  } catch (error) {
    reply({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
