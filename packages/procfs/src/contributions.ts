import { EEXIST, EINVAL, MmError, ProcfsContributor, type Machine } from '@mm/core';
import { CONTRIBUTABLE_MEMINFO_KEYS } from './proc/meminfo-fields.js';

/**
 * What the owner packages add to a snapshot, gathered from every {@link ProcfsContributor} registered
 * in the machine's container and checked: meminfo values by the kernel's key (whole machine and per
 * node) and whole files by path. `@mm/procfs` decides which keys exist, in which order and format.
 */
export interface ProcfsContributions {
  /** `/proc/meminfo` values contributed for the whole machine, by key (e.g. `HugePages_Total`). */
  readonly meminfo: ReadonlyMap<string, number>;
  /** `/sys/devices/system/node/node<nid>/meminfo` values, by node id then key. */
  readonly nodeMeminfo: ReadonlyMap<number, ReadonlyMap<string, number>>;
  /** Whole files by path relative to the snapshot root, and who contributed each. */
  readonly files: ReadonlyMap<
    string,
    {
      /** The file's contents. */
      readonly text: string;
      /** The contributor's name (`ProcfsContributor.name`). */
      readonly from: string;
    }
  >;
}

function bad(errno: number, msg: string, rule: string): never {
  throw new MmError(errno, msg, { rule });
}

/** A snapshot path must be relative, `/`-separated, under `proc/` or `sys/`, no empty, `.` or `..` parts. */
function checkSnapshotPath(path: string, who: string): void {
  const parts = path.split('/');
  if (!(parts[0] === 'proc' || parts[0] === 'sys') || parts.length < 2 || parts.some((p) => p === '' || p === '.' || p === '..')) {
    bad(EINVAL, `procfs: ${who} contributed the file ${JSON.stringify(path)}`, 'contributed paths are relative, under proc/ or sys/, without empty, . or .. parts');
  }
}

function checkValues(rec: Readonly<Record<string, number>>, allowed: ReadonlySet<string>, into: Map<string, number>, who: string, where: string): void {
  for (const [key, v] of Object.entries(rec)) {
    if (!allowed.has(key)) {
      bad(EINVAL, `procfs: ${who} contributed ${where} key ${JSON.stringify(key)}`, `contributors set only keys the kernel prints that the core does not derive: ${[...allowed].join(', ')}`);
    }
    if (!Number.isSafeInteger(v) || v < 0) bad(EINVAL, `procfs: ${who} contributed ${where} ${key} = ${v}`, 'meminfo values are non-negative integers');
    if (into.has(key)) bad(EINVAL, `procfs: ${where} key ${key} contributed twice (again by ${who})`, 'one contributor per meminfo key');
    into.set(key, v);
  }
}

/**
 * Resolve every {@link ProcfsContributor} of `m` (none if the token is not registered) and merge their
 * meminfo values and files. `MmError(EINVAL)` for a key `@mm/procfs` does not print or derives itself
 * (see `CONTRIBUTABLE_MEMINFO_KEYS`), a negative or non-integer value, a key given twice, or a bad
 * path; `MmError(EEXIST)` for a file path given twice.
 */
export function procfsContributions(m: Machine): ProcfsContributions {
  const keys = CONTRIBUTABLE_MEMINFO_KEYS;
  const contributors = m.container.isRegistered(ProcfsContributor, true) ? m.container.resolveAll<ProcfsContributor>(ProcfsContributor) : [];
  const meminfo = new Map<string, number>();
  const nodeMeminfo = new Map<number, Map<string, number>>();
  const files = new Map<string, { text: string; from: string }>();
  for (let nid = 0; nid < m.nodes.length; nid++) nodeMeminfo.set(nid, new Map());
  for (const c of contributors) {
    if (c.meminfo) {
      checkValues(c.meminfo(m, null), keys.global, meminfo, c.name, 'meminfo');
      for (let nid = 0; nid < m.nodes.length; nid++) checkValues(c.meminfo(m, nid), keys.node, nodeMeminfo.get(nid)!, c.name, `node${nid} meminfo`);
    }
    if (c.files) {
      for (const [path, text] of Object.entries(c.files(m))) {
        checkSnapshotPath(path, c.name);
        if (typeof text !== 'string') bad(EINVAL, `procfs: ${c.name} contributed ${path} as ${typeof text}`, 'contributed files are text');
        const prev = files.get(path);
        if (prev) bad(EEXIST, `procfs: ${path} contributed by both ${prev.from} and ${c.name}`, 'one contributor per file');
        files.set(path, { text, from: c.name });
      }
    }
  }
  return { meminfo, nodeMeminfo, files };
}
