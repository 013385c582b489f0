// Preloaded into the store (node --require) by bench/page-allocations.ts: V8's sampling heap profiler,
// counting objects the young and old collections free too, so the profile is what a request
// allocates, not what it keeps. SIGUSR2 starts sampling (after the warm-up); the profile is written
// to BENCH_ALLOCATIONS_FILE when the process stops.
const inspector = require('node:inspector');
const fs = require('node:fs');

const session = new inspector.Session();
session.connect();
let sampling = false;
process.on('SIGUSR2', () => {
  const options = { samplingInterval: 4096, includeObjectsCollectedByMinorGC: true, includeObjectsCollectedByMajorGC: true };
  session.post('HeapProfiler.startSampling', options, () => (sampling = true));
});
function write() {
  if (!sampling) return;
  sampling = false;
  session.post('HeapProfiler.stopSampling', (error, result) => {
    if (!error) fs.writeFileSync(process.env.BENCH_ALLOCATIONS_FILE, JSON.stringify(result.profile));
  });
}
process.prependListener('SIGTERM', write);
process.on('exit', write);
