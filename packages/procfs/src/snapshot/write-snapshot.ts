import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EEXIST, MmError, type Machine } from '@mm/core';
import { snapshotFiles } from './snapshot-files.js';

/** What {@link writeSnapshot} wrote. */
export interface SnapshotSummary {
  /** The snapshot root. */
  readonly dir: string;
  /** Number of files written. */
  readonly files: number;
  /** Total bytes written. */
  readonly bytes: number;
}

async function isEmptyOrAbsent(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
}

/**
 * Write a snapshot of `m` under `dir` (`dir/proc/meminfo`, `dir/sys/devices/system/node/node0/meminfo`,
 * …; see {@link snapshotFiles}), so that stock tools pointed at `dir/proc` and `dir/sys` read it as a
 * host. Everything is computed and checked before the first write. `dir` must be absent or empty
 * (`MmError(EEXIST)` otherwise), so a snapshot never mixes with stale files of an earlier one.
 *
 * @example
 * ```ts
 * import 'reflect-metadata';
 * import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
 * import { tmpdir } from 'node:os';
 * import { dirname, join } from 'node:path';
 * import { createMachine } from '@mm/core';
 * import { hugetlbPlugin } from '@mm/hugetlb';
 * import { writeSnapshot } from '@mm/procfs';
 *
 * const m = createMachine({ memory: '256M', plugins: [hugetlbPlugin({ cmdline: 'hugepages=8' })] });
 * const dir = join(mkdtempSync(join(tmpdir(), 'mm-')), 'snap');
 * const summary = await writeSnapshot(m, dir); // dir/proc/meminfo, dir/proc/buddyinfo, dir/sys/…
 * console.log(summary.files > 0); // true
 * console.log(readFileSync(join(dir, 'proc/meminfo'), 'utf8').match(/^HugePages_Total:.*$/m)?.[0]); // HugePages_Total:       8
 * rmSync(dirname(dir), { recursive: true });
 * ```
 */
export async function writeSnapshot(m: Machine, dir: string): Promise<SnapshotSummary> {
  const files = snapshotFiles(m);
  if (!(await isEmptyOrAbsent(dir))) {
    throw new MmError(EEXIST, `writeSnapshot: ${dir} is not empty`, { rule: 'a snapshot is written to an absent or empty directory' });
  }
  const dirs = new Set<string>();
  for (const p of files.keys()) dirs.add(dirname(join(dir, p)));
  for (const d of [...dirs].sort()) await mkdir(d, { recursive: true });
  let bytes = 0;
  await Promise.all(
    [...files].map(([p, data]) => {
      bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
      return writeFile(join(dir, p), data);
    }),
  );
  return { dir, files: files.size, bytes };
}
