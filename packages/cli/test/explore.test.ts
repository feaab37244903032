import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'mmsim-explore-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function mmsim(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, cwd: tmp };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

describe('mmsim explore', () => {
  it('explores the whole bound-2 space of a scenario and prints a summary, nothing on stderr without a terminal', async () => {
    const r = await mmsim(['explore', 'tryget-final-put', '--bound', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/interleavings \d+ \(completed \d+, pruned \d+, cut off 0\), states \d+/);
    expect(r.stdout).toMatch(/no violation: the whole bounded space was explored/);
  });

  it('--json, random and pct with a seed are reproducible', async () => {
    for (const s of ['random', 'pct']) {
      const a = JSON.parse((await mmsim(['explore', 'migrate-speculative', '--strategy', s, '--seed', '5', '--runs', '50', '--json'])).stdout) as Record<string, unknown>;
      const b = JSON.parse((await mmsim(['explore', 'migrate-speculative', '--strategy', s, '--seed', '5', '--runs', '50', '--json'])).stdout) as Record<string, unknown>;
      expect(a['interleavings']).toBe(50);
      expect({ ...a, seconds: 0 }).toEqual({ ...b, seconds: 0 });
    }
  });

  it('--variant picks the conversion design: without the GUP-fast re-check both designs let a pin land on a private page', async () => {
    for (const variant of ['deferred', 'synchronous']) {
      const r = JSON.parse((await mmsim(['explore', 'gmem-conversion', '--variant', variant, '--no-fix', '--json'])).stdout) as {
        params: { variant: string };
        counterexample: { violation: { key: string } } | null;
      };
      expect(r.params.variant).toBe(variant);
      expect(r.counterexample?.violation.key).toBe('§6.2 private unmapped');
    }
  });

  it('one-line errors for an unknown scenario or strategy', async () => {
    for (const args of [
      ['explore', 'nope'],
      ['explore', 'tryget-final-put', '--strategy', 'bfs'],
      ['explore', 'migrate-speculative', '--no-fix'],
      ['explore', 'gmem-conversion', '--variant', 'eventual'],
      ['explore', 'balloon-deflate', '--variant', 'deferred'],
    ]) {
      const r = await mmsim(args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
  });
});

describe('mmsim soak', () => {
  it('runs 5 000 seeded operations across balloon and zsmalloc with the invariants on: no violation, reproducible', async () => {
    const a = await mmsim(['soak', '--ops', '5000', '--seed', '42', '--json']);
    expect(a.code, a.stdout + a.stderr).toBe(0);
    const r = JSON.parse(a.stdout) as { operations: number; violations: number; checks: number; byOp: Record<string, number> };
    expect(r.operations).toBe(5000);
    expect(r.violations).toBe(0);
    expect(r.checks).toBeGreaterThan(4000); // after every operation that did not reject its input
    expect(Object.keys(r.byOp)).toEqual(expect.arrayContaining(['fault', 'inflate', 'deflate', 'zs_malloc', 'zs_free', 'compact', 'bad_put']));
    const b = JSON.parse((await mmsim(['soak', '--ops', '5000', '--seed', '42', '--json'])).stdout) as Record<string, unknown>;
    expect({ ...b, seconds: 0 }).toEqual({ ...r, seconds: 0 });
  });
});
