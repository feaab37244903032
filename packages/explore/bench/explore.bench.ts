import 'reflect-metadata';
import { explore } from '../src/index.js';
import { report, result, timeNsPerOp } from '../../core/bench/harness.js';

// explore_rate: interleavings per second on one core, exhaustive, preemption bound 2. The hugetlb
// isolation race is not written yet: reported as balloon-deflate and tryget-final-put instead.
// Floor: the same number of steps applied as a bare typed-array loop (one refcount word touched per
// step, no machine boot, no invariant checks).
const out = [];
for (const name of ['balloon-deflate', 'migrate-speculative', 'tryget-final-put']) {
  const r = explore(name, {}, { bound: 2 });
  const perRun = timeNsPerOp(() => void explore(name, {}, { bound: 2 }), r.interleavings, 3, 1);
  const words = new Int32Array(2048);
  const steps = r.steps;
  const floor = timeNsPerOp(() => {
    for (let i = 0; i < steps; i++) words[i & 2047]! += 1;
  }, r.interleavings, 3, 1);
  out.push(result(`explore_rate ${name}`, perRun, floor, { interleavings: r.interleavings, states: r.states, steps: r.steps, interleavingsPerSec: Math.round(1e9 / perRun) }));
}
report(out);
