#!/usr/bin/env node
// The `store` command. In production (NODE_ENV=production, set in the environment or in .env) it
// runs the compiled CLI from dist/ (`npm run build` first); anywhere else it runs the TypeScript
// source through tsx, so a fresh clone needs no build and a stale dist/ is never picked up by mistake.
import fs from 'node:fs';

if (!process.env.NODE_ENV && fs.existsSync('.env')) process.loadEnvFile('.env');
const compiled = new URL('../dist/src/cli/main.js', import.meta.url);

if (process.env.NODE_ENV === 'production') {
  if (!fs.existsSync(compiled)) {
    console.error('NODE_ENV=production runs the compiled CLI, and dist/ has none: run `npm run build` first.');
    process.exit(1);
  }
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
