// The online phase's warm-up (runtime/program/warm-up.ts): its protocols and its rehearsal of a
// program's steps run to the end on three in-process parties (a failure would be ignored in a
// real run, so it is checked here), once per process and only for what is new; it reads a
// program's windows, block sizes and step kinds; it sends nothing on a party's own session; and
// the detach protector it settles first is settled before any later kernels memory grows
// (checked against V8's own trace in a child process).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import type { ProgramStep } from '../../../runtime/program/program.js';
import { warmUp, warmUpOnce, warmUpProfile } from '../../../runtime/program/warm-up.js';
import { createInProcessSessions } from '../../../runtime/transport/in-process.js';

/** A step of a hand-made program (only kind and params matter to the warm-up). */
function st(kind: string, params: Record<string, unknown> = {}): ProgramStep {
  return { name: `s${kind}`, kind, op: kind, round: 0, rounds: 0, inputs: [], outputs: [], params };
}

/** A classic planned program's step list: every kind the rehearsal mirrors. */
const CLASSIC = [
  st('input', { size: 3072 }),
  st('weights', { layer: 'a' }),
  st('truncateExact', { bits: 16 }),
  st('reluWeights', { layer: 'b', window: { lo: 6, k: 18 }, shape: [1, 4, 8, 8], blocks: ['identity', [1, 4], [2, 2], [8, 8]], keepMasked: true }),
  st('weightsSharedMask', { layer: 'c', maskFrom: 'sreluWeights' }),
  st('reluWeights', { layer: 'd', window: { lo: 0, k: 64 } }),
  st('reluWeights', { layer: 'e', window: { lo: 6, k: 18 }, shape: [1, 2, 40, 40], blocks: [[40, 40], [1, 4]] }),
  st('blockRelu', { shape: [1, 2, 4, 4], blocks: [[4, 4], 'identity'], window: { lo: 5, k: 22 } }),
  st('relu', { window: { lo: 3, k: 13 } }),
  st('globalAvgPool', { inShape: [1, 2, 4, 4], untruncated: true }),
  st('truncateExactOnline', { bits: 16 }),
];

describe('runtime/program/warm-up: warming the online phase before the input', () => {
  it('runs every protocol of the warm-up to the end, classic and client-offline', async () => {
    await warmUp();
    await warmUp('clientOffline');
  });

  it("reads a program's distinct windows, block sizes (identity left out) and step kinds", () => {
    const p = warmUpProfile({ steps: CLASSIC });
    expect(p.family).to.equal('classic');
    expect(p.windows).to.deep.equal([
      { lo: 6, k: 18 },
      { lo: 0, k: 64 },
      { lo: 5, k: 22 },
      { lo: 3, k: 13 },
    ]);
    expect(p.blocks).to.deep.equal([
      [1, 4],
      [2, 2],
      [8, 8],
      [40, 40],
      [4, 4],
    ]);
    expect(p.kinds).to.include.members(['reluWeights', 'reluWeights/plain', 'weightsSharedMask', 'blockRelu', 'relu', 'truncateExact']);
    const co = warmUpProfile({ steps: [st('helperSelect', { size: 64, bits: 16, window: { lo: 24, k: 16 } })] });
    expect(co.family).to.equal('clientOffline');
    expect(co.windows).to.deep.equal([{ lo: 24, k: 16 }]);
  });

  it("rehearses a classic program's steps and a client-offline program's windows to the end", async () => {
    // Block sizes beyond the rehearsal's plane (40×40) are clamped; every kind above runs.
    await warmUp(warmUpProfile({ steps: CLASSIC }));
    await warmUp(warmUpProfile({ steps: [st('helperSelect', { size: 64, bits: 16, window: { lo: 7, k: 19 }, shape: [1, 1, 8, 8], blocks: [[8, 3]] })] }));
  });

  it('runs once per process and family, then only for windows and block sizes not warmed yet', async () => {
    const first = warmUpOnce();
    expect(warmUpOnce()).to.equal(first);
    expect(warmUpOnce('classic')).to.equal(first);
    const other = warmUpOnce('clientOffline');
    expect(other).to.not.equal(first);
    expect(warmUpOnce('clientOffline')).to.equal(other);
    const program = { steps: [st('relu', { window: { lo: 2, k: 11 } })] };
    const more = warmUpOnce(program);
    expect(more).to.not.equal(first);
    expect(warmUpOnce(program)).to.equal(more);
    // A program adding nothing new waits for the last warm-up of its family.
    expect(warmUpOnce('classic')).to.equal(more);
    await Promise.all([first, other, more]);
  });

  it("sends nothing on a party's own sessions", async () => {
    const sessions = await createInProcessSessions();
    try {
      await warmUp(warmUpProfile({ steps: CLASSIC }));
      for (const s of sessions) {
        expect(s.counters.rounds).to.equal(0);
        expect(s.counters.sentTo).to.deep.equal([0, 0, 0]);
      }
    } finally {
      await Promise.all(sessions.map((s) => s.close()));
    }
  });

  it("settles V8's detach protector before the warm-up, so a later memory grow deoptimizes nothing", () => {
    const module = fileURLToPath(new URL('../../../runtime/program/warm-up.js', import.meta.url));
    const script = `const m = await import(${JSON.stringify(module)});
      await m.warmUpOnce('clientOffline');
      console.log('WARMED');
      const mem = new WebAssembly.Memory({ initial: 1 });
      mem.grow(1);
      console.log('GROWN');`;
    const r = spawnSync(process.execPath, ['--trace-protector-invalidation', '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const lines = r.stdout.split('\n');
    const invalidated = lines.findIndex((l) => /Invalidating protector cell ArrayBufferDetaching/.test(l));
    expect(invalidated, r.stdout).to.be.greaterThan(-1);
    expect(invalidated).to.be.lessThan(lines.indexOf('WARMED'));
    expect(lines.filter((l) => /ArrayBufferDetaching/.test(l))).to.have.length(1);
    expect(lines.indexOf('GROWN')).to.be.greaterThan(lines.indexOf('WARMED'));
  });
});
