import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Install as a user would: build, `pnpm pack` @mm/core and two owner packages, install the tarballs
 * with npm into an empty project outside the workspace, and run the README's quick start there with
 * plain `node` — no tsx, no `@mm/source` condition, only what the tarballs ship (`"files": ["dist"]`).
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packed = ['core', 'hugetlb', 'balloon'];

/** The environment without pnpm's `npm_*` variables, so npm reads only its own configuration. */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));

let tmp = '';
let project = '';

/** Run `node file` in the installed project and return its stdout. */
function runInProject(file: string): string {
  return execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8', env: cleanEnv, timeout: 60_000 });
}

describe('packed tarballs installed into an empty npm project', () => {
  beforeAll(() => {
    // Build core and the two owners (tsc -b follows the references); dist is what gets packed.
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', ...packed.slice(1).map((p) => join(root, 'packages', p))], {
      cwd: root,
      stdio: 'pipe',
    });
    tmp = mkdtempSync(join(tmpdir(), 'mm-pack-install-'));
    const tarballs = join(tmp, 'tarballs');
    mkdirSync(tarballs);
    for (const p of packed) {
      execFileSync('pnpm', ['pack', '--pack-destination', tarballs], { cwd: join(root, 'packages', p), stdio: 'pipe', env: cleanEnv });
    }
    project = join(tmp, 'project');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'mm-consumer', version: '1.0.0', private: true }, null, 2));
    const tgz = readdirSync(tarballs).map((f) => join(tarballs, f));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tgz, 'reflect-metadata@^0.2.2', 'tsyringe@^4.10.0'], {
      cwd: project,
      stdio: 'pipe',
      env: cleanEnv,
      timeout: 150_000,
    });
  }, 240_000);

  afterAll(() => {
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('ships only dist and package.json, one tarball per package', () => {
    for (const p of packed) {
      const dir = join(project, 'node_modules', '@mm', p);
      expect(readdirSync(dir).sort()).toEqual(['dist', 'package.json']);
      expect(existsSync(join(dir, 'dist', 'index.js'))).toBe(true);
      expect(existsSync(join(dir, 'dist', 'index.d.ts'))).toBe(true);
      // publishConfig.exports drops the workspace-only `@mm/source` condition (src/ is not shipped).
      expect(readFileSync(join(dir, 'package.json'), 'utf8')).not.toContain('@mm/source');
    }
    // One @mm/core for everyone: the owners take it as a peer, not as a nested copy of their own.
    expect(existsSync(join(project, 'node_modules', '@mm', 'hugetlb', 'node_modules'))).toBe(false);
    expect(existsSync(join(project, 'node_modules', '@mm', 'balloon', 'node_modules'))).toBe(false);
  });

  it("the README's quick start runs with plain node and prints what it says", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    // The quick start is written so that it is also valid JavaScript: it runs unchanged as .mjs.
    const code = /## Quick start\n\n```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    writeFileSync(join(project, 'quick-start.mjs'), code);
    const out = runInProject('quick-start.mjs');
    // folio_alloc(order 9) then the last put frees the 2 MiB folio: one mm_page_free of order 9.
    expect(out).toMatch(/^mm_page_free: pfn=\d+ order=9$/m);
    // 1 GiB machine: DMA (16 MiB) and DMA32 zones on node 0, printed as /proc/buddyinfo does.
    expect(out).toMatch(/^Node 0, zone      DMA( +\d+){11} *$/m);
    expect(out).toMatch(/^Node 0, zone    DMA32( +\d+){11} *$/m);
  });

  it('the packed owner packages resolve @mm/core as a peer: one machine boots with both', () => {
    writeFileSync(
      join(project, 'owners.mjs'),
      `import 'reflect-metadata';
import { createMachine, page_has_movable_ops } from '@mm/core';
import { hugetlbOf, hugetlbPlugin } from '@mm/hugetlb';
import { balloonPlugin, balloon_devinfo_init, balloon_page_alloc, balloon_page_enqueue } from '@mm/balloon';

const m = createMachine({ memory: '256M', debugVm: true, plugins: [hugetlbPlugin({ cmdline: 'hugepages=4' }), balloonPlugin()] });
const h = hugetlbOf(m).default_hstate;
const b = balloon_devinfo_init(m);
const page = balloon_page_alloc(m);
if (page === -1) throw new Error('balloon_page_alloc failed');
balloon_page_enqueue(m, b, page);
console.log('hugetlb ' + h.name + ' nr=' + h.nr_huge_pages + ' free=' + h.free_huge_pages);
console.log('balloon listed=' + b.nrListed + ' movable_ops=' + page_has_movable_ops(m, page));
`,
    );
    const out = runInProject('owners.mjs');
    // hugepages=4 of the default 2 MiB hstate, all free; the inflated page found balloon_mops
    // through the core's MovableOperations registry, i.e. both sides share one @mm/core.
    expect(out).toContain('hugetlb hugepages-2048kB nr=4 free=4');
    expect(out).toContain('balloon listed=1 movable_ops=true');
  });
});
