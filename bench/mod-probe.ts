const mods = process.argv.slice(2);
for (const m of mods) await import(m);
globalThis.gc?.();
const u = process.memoryUsage();
console.log(mods.join(' ') || '(nothing)', 'rss', (u.rss / 2 ** 20).toFixed(0), 'heap', (u.heapUsed / 2 ** 20).toFixed(0), 'ext', (u.external / 2 ** 20).toFixed(0));
