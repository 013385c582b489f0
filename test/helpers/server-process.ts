import { spawn, type ChildProcess } from 'node:child_process';

/**
 * The store as a real operating-system process (node running src/server.ts through tsx, or the
 * compiled dist/src/server.js), as an operator runs it: for tests of several processes on one
 * database, of processes killed, and of the production build.
 */
export interface ServerProcess {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** kill -9: no shutdown code runs, as when the machine or the process dies. */
  crash(): Promise<void>;
  /** SIGTERM: the graceful stop. */
  stop(): Promise<number | null>;
}

/** Settings every test server process shares: quiet logs, no demo catalogue, no .env surprises. */
export function serverEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR };
  return {
    ...base,
    NODE_ENV: 'development',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    DEMO_CATALOGUE: 'false',
    CATALOGUE_CACHE_SECONDS: '0',
    ...settings,
  };
}

export interface ServerProcessOptions {
  readyTimeoutMs?: number;
  /** Runs dist/src/server.js (`npm run build` must have made it) instead of the source through tsx. */
  compiled?: boolean;
}

/** Starts `node --import tsx src/server.ts` (or `node dist/src/server.js`) on `port` and resolves once /healthz answers 200. */
export async function startServerProcess(
  env: NodeJS.ProcessEnv,
  port: number,
  { readyTimeoutMs = 45_000, compiled = false }: ServerProcessOptions = {},
): Promise<ServerProcess> {
  const args = compiled ? ['dist/src/server.js'] : ['--import', 'tsx', 'src/server.ts'];
  const child: ChildProcess = spawn(process.execPath, args, { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (gone) throw new Error(`the server process exited before it was ready:\n${output}`);
    const health = await fetch(`${url}/healthz`).catch(() => undefined);
    if (health?.status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the server process was not ready within ${readyTimeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    url,
    pid: child.pid!,
    output: () => output,
    exited,
    async crash() {
      if (!gone) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (!gone) child.kill('SIGTERM');
      return exited;
    },
  };
}
