import { startStore, benchDatabaseUrl } from './lib/store.js';
const store = await startStore({ port: 3990, databaseUrl: benchDatabaseUrl('sqlite') });
console.log('after start', store.peakRssMb(), 'MB');
for (let i = 0; i < 200; i++) await (await fetch('http://127.0.0.1:3990/')).text();
console.log('after 200 home pages', store.peakRssMb(), 'MB');
await store.stop();
