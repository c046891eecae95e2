/**
 * Ends a child process when this process dies, however it dies (SIGKILL included), for almost nothing.
 *
 * Why: the compiler process started from the snapshot exits on 'disconnect', but only between checks; a
 * hostile source can keep one check busy for seconds, and a server killed meanwhile would leave it running.
 * A watchdog thread inside the compiler closes that gap, but its start-up costs 30–45 ms of CPU, which on a
 * two-core machine the server's first create_tool pays. The guard here is a `/bin/sh` blocked reading a pipe
 * whose write end only this process holds: when this process dies the kernel closes that end, the read
 * returns, and the shell kills the child. It polls nothing and costs about a millisecond to start.
 *
 * Where there is no POSIX shell (Windows), `guardChild` returns undefined and the compiler keeps its own
 * watchdog thread.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface OrphanGuard {
  /** Stops guarding (the child ended, or is being ended): the shell goes without touching the child. */
  release(): void;
}

const SHELL = '/bin/sh';

/**
 * Guards child `pid`; `onLost` runs if the guard itself ends while still needed (someone killed the shell),
 * so the caller can fall back to another watchdog. Undefined when no guard can be started here.
 */
export function guardChild(pid: number, onLost: () => void): OrphanGuard | undefined {
  if (process.platform === 'win32' || !Number.isSafeInteger(pid) || !existsSync(SHELL))
    return undefined;
  let shell;
  try {
    // The pid is an integer this process was given by spawn: nothing else reaches the script.
    shell = spawn(SHELL, ['-c', `read _; kill -9 ${pid} 2>/dev/null`], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
  } catch {
    return undefined;
  }
  if (shell.pid === undefined) {
    shell.on('error', () => undefined);
    return undefined;
  }
  let released = false;
  const lost = (): void => {
    if (released) return;
    released = true;
    onLost();
  };
  shell.on('error', lost);
  shell.on('exit', lost);
  // Neither the shell nor its pipe may keep this process alive: the guard matters only while it lives.
  shell.unref();
  const pipe = shell.stdin as unknown as {
    unref?: () => void;
    on(event: 'error', f: () => void): void;
  };
  pipe.on('error', () => undefined);
  pipe.unref?.();
  return {
    release() {
      if (released) return;
      released = true;
      // Killed rather than sent EOF: after a normal end the child's pid may already be someone else's.
      shell.kill('SIGKILL');
    },
  };
}
