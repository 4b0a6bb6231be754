import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * A python3 that imports `module`, for the peers of `bench perf --peer`: RANKBENCH_PYTHON if set
 * (only that one is tried), else Debian's /usr/bin/python3 (where apt installs python3-torch and
 * python3-faiss; a version manager's `python3` shim earlier on PATH often lacks them), else
 * `python3` on PATH. Null when none can.
 */
export function findPython(module: string): string | null {
  const forced = process.env.RANKBENCH_PYTHON;
  const candidates = forced ? [forced] : ['/usr/bin/python3', 'python3'];
  for (const py of candidates) {
    if (py.includes('/') && !existsSync(py)) continue;
    const r = spawnSync(py, ['-c', `import ${module}`], { stdio: 'ignore', timeout: 60_000 });
    if (r.status === 0) return py;
  }
  return null;
}
