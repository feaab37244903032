import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main, type CliIo } from '../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'mmsim-workers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function exploreJson(args: readonly string[]): Promise<Record<string, unknown>> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false }, cwd: tmp };
  const code = await main(['explore', ...args, '--json'], io);
  expect(code, stderr).toBeLessThanOrEqual(2);
  return JSON.parse(stdout) as Record<string, unknown>;
}

const TOTALS = ['interleavings', 'completed', 'pruned', 'stepLimited', 'states', 'steps', 'exhausted'] as const;
const pick = (r: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(TOTALS.map((k) => [k, r[k]]));

// --workers 2 splits the first scheduling point's subtrees over two threads, each subtree with its
// own visited states (as one worker searches them too), and merges the subtrees in task order up to
// the first violation: every total must equal the single-thread search's.
describe('mmsim explore --workers', () => {
  it('2 workers give the totals of 1 worker when there is no violation (balloon-deflate, one RCU walker)', async () => {
    const one = await exploreJson(['balloon-deflate', '--walkers', '1', '--bound', '2']);
    const two = await exploreJson(['balloon-deflate', '--walkers', '1', '--bound', '2', '--workers', '2']);
    expect(one['counterexample']).toBeNull();
    expect(one['exhausted']).toBe(true);
    expect(pick(two)).toEqual(pick(one));
    expect(two['counterexample']).toBeNull();
  }, 60_000);

  it('2 workers give the totals and the violation of 1 worker (tryget-final-put without the fix)', async () => {
    const one = await exploreJson(['tryget-final-put', '--no-fix', '--bound', '2']);
    const two = await exploreJson(['tryget-final-put', '--no-fix', '--bound', '2', '--workers', '2']);
    const cx1 = one['counterexample'] as { violation: unknown; schedule: unknown } | null;
    const cx2 = two['counterexample'] as { violation: unknown; schedule: unknown } | null;
    expect(cx1).not.toBeNull();
    expect(pick(two)).toEqual(pick(one));
    expect(cx2!.violation).toEqual(cx1!.violation);
    expect(cx2!.schedule).toEqual(cx1!.schedule);
  }, 60_000);
});
