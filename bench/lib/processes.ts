import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Child processes for the bench: the store (or a baseline server) runs apart from the load
 * generator, so its memory is its own and can be read from /proc.
 */
export interface Child {
  process: ChildProcess;
  /** Forgets the peak so far (Linux clear_refs 5), so the next reading covers one measurement only. */
  resetPeakRss(): void;
  /** The highest resident set since start or the last reset, in MB (VmHWM). */
  peakRssMb(): number;
  /** CPU time the process has used so far (user + system), in ms: per request, the figure the machine's load does not move. */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** A TypeScript script runs through tsx; a compiled one (.js, e.g. dist/src/server.js) on plain Node. */
export function startChild(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  readyUrl: string,
  nodeFlags: string[] = [],
): Promise<Child> {
  // BENCH_PROFILE=DIR: each child writes a V8 CPU profile there when it stops (see bench/profile-summary.ts).
  const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  // The child's log lines go to a file beside the bench data, one per child and port, replaced each run.
  fs.mkdirSync('data/bench/logs', { recursive: true });
  const log = fs.openSync(`data/bench/logs/${path.basename(script, path.extname(script))}-${new URL(readyUrl).port}.log`, 'w');
  const loader = script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = fork(script, args, { env, execArgv: [...loader, ...nodeFlags, ...profile], stdio: ['ignore', log, 'inherit', 'ipc'] });
  fs.closeSync(log);
  const handle: Child = {
    process: child,
    resetPeakRss: () => resetPeak(child.pid!),
    peakRssMb: () => peakRssMb(child.pid!),
    cpuMs: () => cpuMs(child.pid!),
    stop: () => stop(child),
  };
  return new Promise((resolve, reject) => {
    const failed = (code: number | null) => {
      clearInterval(poll);
      reject(new Error(`${script} exited with ${code} before it answered`));
    };
    child.once('exit', failed);
    const poll: NodeJS.Timeout = setInterval(() => {
      fetch(readyUrl).then(
        () => {
          clearInterval(poll);
          child.off('exit', failed);
          resolve(handle);
        },
        () => {
          /* not listening yet */
        },
      );
    }, 200);
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function resetPeak(pid: number): void {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    /* not Linux, or not allowed: the peak then covers the whole life of the process */
  }
}

export function peakRssMb(pid: number): number {
  try {
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    return Math.round(kb / 102.4) / 10;
  } catch {
    return NaN;
  }
}

const CLOCK_TICKS_PER_S = 100; // USER_HZ on Linux

export function cpuMs(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces, so split after its closing parenthesis): utime and stime are the 12th and 13th.
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return NaN;
  }
}

/** Samples a process's peak RSS until it exits: the last reading before the exit is its peak. */
export function trackPeakRss(pid: number, everyMs = 100): () => number {
  let peak = 0;
  const sample = () => {
    const mb = peakRssMb(pid);
    if (Number.isFinite(mb)) peak = Math.max(peak, mb);
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return () => {
    clearInterval(timer);
    sample();
    return peak;
  };
}
