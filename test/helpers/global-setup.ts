import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { createConnection } from 'mysql2/promise';
import { generateDemoLibrary } from '../../src/catalogue/demo/library.js';

export const MYSQL_SERVER_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The fixture library: the demo generator's tree with short tracks, made once per run. */
const FIXTURE_SCALE = 0.12;

declare module 'vitest' {
  export interface ProvidedContext {
    mysqlServerUrl: string | null;
    chromiumPath: string | null;
    fixtureLibrary: string;
  }
}

async function mysqlReachable(): Promise<boolean> {
  try {
    const connection = await createConnection({ uri: MYSQL_SERVER_URL, connectTimeout: 3000 });
    await connection.end();
    return true;
  } catch {
    return false;
  }
}

/**
 * Finds what the suite needs. Outside CI a missing MySQL or Chromium skips those tests with a
 * message; under CI=true it is an error, because CI must prove both.
 */
export default async function setup(project: TestProject) {
  const required = process.env.CI === 'true';
  const mysql = await mysqlReachable();
  const chromium = fs.existsSync(CHROMIUM);
  if (required && !mysql) throw new Error(`CI=true but MySQL is not reachable at ${MYSQL_SERVER_URL}`);
  if (required && !chromium) throw new Error(`CI=true but Chromium is not installed at ${CHROMIUM}`);
  if (!mysql) console.warn(`MySQL not reachable at ${MYSQL_SERVER_URL}: MySQL tests are skipped.`);
  if (!chromium) console.warn(`Chromium not found at ${CHROMIUM}: browser tests are skipped.`);

  const fixtureLibrary = path.join(os.tmpdir(), `store-fixture-library-${FIXTURE_SCALE}`);
  if (!fs.existsSync(path.join(fixtureLibrary, '.complete'))) {
    fs.rmSync(fixtureLibrary, { recursive: true, force: true });
    await generateDemoLibrary(fixtureLibrary, { tracksScale: FIXTURE_SCALE });
    fs.writeFileSync(path.join(fixtureLibrary, '.complete'), 'ok');
  }

  project.provide('mysqlServerUrl', mysql ? MYSQL_SERVER_URL : null);
  project.provide('chromiumPath', chromium ? CHROMIUM : null);
  project.provide('fixtureLibrary', fixtureLibrary);
}
