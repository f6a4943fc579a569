// Pre-dealt bundles (runtime/transport/serving.ts, runtime/session/keys.ts "Pre-dealt bundles"):
// the serving helper deals each client's first inference while no client is connected. Over
// authenticated loopback TCP in this process, tiny-cnn in both modes (classic and
// client-offline, the latter also in Z_2^40 and Z_2^32). References: the fixed-point interpreter (within 8 ulps), cost.json and
// model.mir's flows for every inference's counters, the same servers without pre-dealing, and
// the keys themselves (read from the sessions' stream families: each inference's K02 and K12
// fresh, equal at their two holders, never crossing the P1–P2 link).

import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCostJson } from '../../../compiler/commands/cost.js';
import { runCompile } from '../../../compiler/commands/compile.js';
import { loadGraphFile } from '../../../compiler/load-model.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { runGraphFixed } from '../../../ir/interp/fixed/index.js';
import { tensorOf } from '../../../ir/tensor.js';
import { runPipeline } from '../../../passes/index.js';
import { clientRunner, loadPartyArtifacts, serverRunner, sessionTag, type PartyArtifacts, type RunResult } from '../../../runtime/program/index.js';
import { ephemeralIdentities, freeLocalAddresses, type ReceivedPayload } from '../../../runtime/session/connect.js';
import type { PartySession } from '../../../runtime/session/party-session.js';
import { PrgFamily, privateFamily } from '../../../runtime/session/prg.js';
import type { Session } from '../../../runtime/session/session.js';
import { exchangeOffline } from '../../../runtime/program/offline.js';
import type { Frame } from '../../../runtime/transport/frame.js';
import { LinkMux } from '../../../runtime/transport/link-mux.js';
import { ServingParty, type PredealHooks, type ServeSummary } from '../../../runtime/transport/serving.js';
import { runAsClient } from '../../../runtime/transport/serving-client.js';
import { dial } from '../../../runtime/transport/tcp.js';
import { expectCountersMatch, flowTotals } from '../../e2e/support.js';
import { rng } from '../../passes/util.js';
import { sameDistribution } from '../protocols/stats.js';

/** Fractional bits by mode: Z_2^32 needs fewer (the products' 2f bits and their range). */
const fracOf = (mode: string): number => (mode.endsWith('Z_2^32') ? 10 : 12);
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The master key of a session's stream family shared with `peer` (test-only look inside). */
function pairKey(s: PartySession, peer: number): string {
  return hex((s as unknown as { pairFamilies: { master: Uint8Array }[] }).pairFamilies[peer].master);
}

/** Every frame each LinkMux received, by mux (the P1–P2 link's two ends are looked up later). */
const framesByMux = new Map<LinkMux, Frame[]>();
const proto = LinkMux.prototype as unknown as { onFrame(f: Frame): void };
const onFrame = proto.onFrame;

describe('serving: the helper pre-deals each client\'s first inference while no client is connected', function () {
  this.timeout(180000);
  let dir = '';
  const modes: Record<string, { arts: PartyArtifacts[]; out: string }> = {};
  let tag = '';
  let xs: Float32Array[] = [];
  const expected: Record<string, Float64Array[]> = {};
  const ids = ephemeralIdentities();

  before(async () => {
    proto.onFrame = function (this: LinkMux, f: Frame) {
      let list = framesByMux.get(this);
      if (!list) framesByMux.set(this, (list = []));
      list.push({ ...f, payload: Uint8Array.from(f.payload) });
      onFrame.call(this, f);
    };
    dir = mkdtempSync(join(tmpdir(), 'mpcc-predeal-'));
    writeFileSync(join(dir, 'tiny.onnx'), buildZooModel('tiny-cnn'));
    const rand = rng(23);
    xs = Array.from({ length: 4 }, () => Float32Array.from({ length: 3 * 16 * 16 }, () => 2 * rand() - 1));
    for (const [mode, extra] of [['classic', {}], ['client-offline', { clientOffline: true }], ['client-offline in Z_2^40', { clientOffline: true, ring: '40' }], ['client-offline in Z_2^32', { clientOffline: true, ring: '32' }]] as const) {
      const out = join(dir, mode);
      const frac = fracOf(mode);
      runCompile(join(dir, 'tiny.onnx'), { fracBits: frac, output: out, quiet: true, ...extra } as Parameters<typeof runCompile>[1]);
      modes[mode] = { out, arts: await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id))) };
      if ('ring' in extra) expect(readCostJson(join(out, 'cost.json')).ring).to.equal(Number(extra.ring));
      const passes = mode === 'classic' ? `canonicalize,quantize{frac-bits=${frac}}` : `canonicalize,maxpool-to-relu-tree,quantize{frac-bits=${frac}}`;
      const g = runPipeline(loadGraphFile(join(dir, 'tiny.onnx')), passes).graph;
      expected[mode] = xs.map((x) => runGraphFixed(g, { input: tensorOf('float32', [1, 3, 16, 16], x) }, { frac }).outputs.get('output')!.data as Float64Array);
    }
    tag = sessionTag(modes.classic.arts[0].manifest);
  });
  after(() => {
    proto.onFrame = onFrame;
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => framesByMux.clear());

  /** One inference as a server saw it. */
  interface ServerRun {
    party: 1 | 2;
    client: number;
    index: number;
    result: RunResult;
    bundle: string | null;
    keys: Record<number, string>;
    received: ReceivedPayload[];
  }

  /** P1 and P2 serving `mode` in this process, pre-dealing unless `predeal` is false; `slowDeal`
   * delays the helper's dealing (ms) to catch it in the middle. */
  async function startServers(mode: string, opts: { predeal?: boolean | 'server only'; slowDeal?: number } = {}) {
    const { arts } = modes[mode];
    const peers = await freeLocalAddresses();
    const logs: string[] = [];
    const runs: ServerRun[] = [];
    const servers = ([1, 2] as const).map((id) => {
      const runner = serverRunner(arts[id]);
      const hooks: PredealHooks = {
        adoptSetup: (name, key) => runner.adoptSetup(name, key),
        deal: async (streams, signal) => {
          if (opts.slowDeal) await new Promise((r) => setTimeout(r, opts.slowDeal));
          return runner.deal(streams, signal);
        },
      };
      return new ServingParty({ id, peers, tag, identity: ids[id], log: (l) => logs.push(l), setupId: runner.setupId, predeal: opts.predeal === false || (opts.predeal === 'server only' && id === 2) ? undefined : hooks, recordReceived: true }, async (s, ctx) => {
        const keys = Object.fromEntries(s.peers.map((p) => [p, pairKey(s, p)]));
        const result = await runner.run(s, ctx.index, ctx.reuseSetup, ctx.clientReady ?? undefined, ctx.predealt ?? undefined);
        runs.push({ party: id, client: ctx.client, index: ctx.index, result, bundle: s.bundle, keys, received: s.receivedLog.slice() });
      });
    });
    const each = servers.map((s) => s.serve());
    const done = Promise.all(each) as Promise<[ServeSummary, ServeSummary]>;
    done.catch(() => undefined);
    return { peers, logs, servers, done, runs, each };
  }

  /** One client connection running `inputs` (indices into xs) on `mode`. */
  function client(mode: string, peers: readonly [string, string, string], inputs: number[]) {
    const infer = clientRunner(modes[mode].arts[0]);
    return runAsClient({ peers, tag, identity: ids[0], inferences: inputs.length, recordReceived: true }, async (s, index) => {
      const r = await infer(s, xs[inputs[index]]);
      return { result: r, output: r.outputs.get('output')!, bundle: s.bundle, k02: pairKey(s, 2), k01: pairKey(s, 1), received: s.receivedLog.slice() };
    });
  }

  function expectClose(mode: string, output: Float64Array, x: number, what: string): void {
    for (let i = 0; i < output.length; i++) expect(Math.abs(output[i] - expected[mode][x][i]), `${what}, logit ${i}`).to.be.at.most(8 * 2 ** -fracOf(mode));
  }

  // (In Z_2^32 the one-time W − B is 4 bytes per weight: each client's resent W − B too.)
  for (const mode of ['classic', 'client-offline', 'client-offline in Z_2^40', 'client-offline in Z_2^32']) {
    it(`${mode}: two clients, five inferences: outputs within 8 ulps of the fixed-point interpreter, counters equal cost.json per party and phase, each client's first inference pre-dealt with fresh keys`, async () => {
      const env = await startServers(mode);
      const cost = readCostJson(join(modes[mode].out, 'cost.json'));
      const predicted = flowTotals(readFileSync(join(modes[mode].out, 'party1/model.mir'), 'utf8'));
      const clients = [
        { inputs: [0, 1], runs: await client(mode, env.peers, [0, 1]) },
        { inputs: [2, 3, 0], runs: await client(mode, env.peers, [2, 3, 0]) },
      ];
      env.servers[0].stop('test over');
      const [s1, s2] = await env.done;
      expect(s1).to.include({ clients: 2, inferences: 5, failedClients: 0 });
      expect(s2).to.include({ clients: 2, inferences: 5, failedClients: 0 });
      const k02s: string[] = [];
      const k12s: string[] = [];
      for (const [c, { inputs, runs }] of clients.entries()) {
        for (const [i, r] of runs.entries()) {
          expectClose(mode, r.output, inputs[i], `client ${c} inference ${i}`);
          const p1 = env.runs.find((x) => x.party === 1 && x.client === c + 1 && x.index === i)!;
          const p2 = env.runs.find((x) => x.party === 2 && x.client === c + 1 && x.index === i)!;
          // Counters: the one-time setup (W − B resent) only in each client's first inference.
          const oneTime = i === 0 ? cost : { ...cost, oneTimeRounds: 0, bytes: { ...cost.bytes, oneTime: 0 } };
          const flows = i === 0 ? predicted : predicted.map((to) => to.map((ph) => ({ ...ph, oneTime: 0 })));
          expectCountersMatch([r.result, p1.result, p2.result], oneTime, flows);
          // Pre-dealt: the first inference of each client, on the same bundle at all three.
          const bundle = i === 0 ? p1.bundle : null;
          if (i === 0) expect(bundle, `client ${c} inference ${i}`).to.match(/^[0-9a-f]{32}$/);
          expect([r.bundle, p1.bundle, p2.bundle]).to.deep.equal(i === 0 ? [bundle, bundle, bundle] : [null, null, null]);
          expect(p2.result.predealSeconds !== null).to.equal(i === 0);
          // The keys: P0–P2 equal at P0 and P2, P1–P2 at P1 and P2, P0–P1 at P0 and P1.
          expect(r.k02).to.equal(p2.keys[0]);
          expect(p1.keys[2]).to.equal(p2.keys[1]);
          expect(r.k01).to.equal(p1.keys[0]);
          k02s.push(r.k02);
          k12s.push(p1.keys[2]);
        }
      }
      expect(new Set(k02s).size, 'K02 of every inference').to.equal(5);
      expect(new Set(k12s).size, 'K12 of every inference').to.equal(5);
      expect(new Set(k02s.concat(k12s)).size).to.equal(10);
      expect(env.logs.filter((l) => /party 2: next inference pre-dealt in [\d.]+ s \(bundle [0-9a-f]{8}\)/.test(l)).length).to.be.at.least(2);
      // made at start-up (for the pre-dealing): every client resends W − B; the first finds it made
      expect(env.logs.filter((l) => /client 1: .*one-time setup made at start-up/.test(l))).to.have.length(2);
      expect(env.logs.filter((l) => /one-time setup (reused|made at start-up)/.test(l))).to.have.length(4);

      // P1 never receives K02, and P2 never sends it to P1: it crosses no frame of the P1–P2 link, either way.
      const link1 = (env.servers[0] as unknown as { helper: LinkMux }).helper;
      const link2 = (env.servers[1] as unknown as { helper: LinkMux }).helper;
      const linkFrames = [...(framesByMux.get(link1) ?? []), ...(framesByMux.get(link2) ?? [])];
      expect(linkFrames.length).to.be.above(10);
      for (const k of k02s) {
        const needle = Buffer.from(k, 'hex');
        for (const f of linkFrames) expect(Buffer.from(f.payload).indexOf(needle), 'K02 on the P1–P2 link').to.equal(-1);
      }
      // The check can fail: K12 itself is not on the link either, but the bundle ids are (public).
      expect(linkFrames.some((f) => Buffer.from(f.payload).includes(Buffer.from(clients[0].runs[0].bundle!)))).to.equal(true);
    });
  }

  it('what P0 and P1 receive in a pre-dealt inference has the distribution it has without pre-dealing (each message\'s bytes, chi-square homogeneity; the check fails on a biased message)', async () => {
    const collect = async (predeal: boolean) => {
      const env = await startServers('classic', { predeal });
      const runs = await client('classic', env.peers, [0]);
      env.servers[0].stop('test over');
      await env.done;
      return { p0: runs[0].received, p1: env.runs.find((r) => r.party === 1)!.received, bundle: runs[0].bundle };
    };
    const pre = await collect(true);
    const base = await collect(false);
    expect(pre.bundle).to.match(/^[0-9a-f]{32}$/);
    expect(base.bundle).to.equal(null);
    let compared = 0;
    for (const who of ['p0', 'p1'] as const) {
      const a = pre[who].filter((m) => m.data.length >= 512);
      const b = base[who].filter((m) => m.data.length >= 512);
      expect(a.map((m) => [m.from, m.data.length])).to.deep.equal(b.map((m) => [m.from, m.data.length]));
      for (let i = 0; i < a.length; i++) {
        expect(sameDistribution(a[i].data, b[i].data, 256), `${who}, message ${i} from party ${a[i].from}`).to.equal(true);
        compared++;
      }
    }
    expect(compared).to.be.above(3);
    // Self-test: the same message with its high bytes cleared is told apart.
    const m = pre.p0.find((x) => x.data.length >= 4096)!.data;
    const biased = Uint8Array.from(m, (v, i) => (i % 8 >= 4 ? 0 : v));
    expect(sameDistribution(m, biased, 256)).to.equal(false);
  });

  it('a bundle is used once: a client that fails in its pre-dealt inference takes its bundle with it, and the next client gets a new one (its output right)', async () => {
    const env = await startServers('classic');
    let failedBundle: string | null = null;
    const failed = runAsClient({ peers: env.peers, tag, identity: ids[0], inferences: 1 }, async (s) => {
      failedBundle = s.bundle;
      await s.round([], [1]); // the one-time setup's frame, then the client gives up
      throw new Error('the client gives up');
    });
    expect(await failed.then(() => 'ok', (e: Error) => e.message)).to.equal('the client gives up');
    const [next] = await client('classic', env.peers, [1]);
    expectClose('classic', next.output, 1, 'the next client');
    expect(failedBundle).to.match(/^[0-9a-f]{32}$/);
    expect(next.bundle).to.match(/^[0-9a-f]{32}$/);
    expect(next.bundle).to.not.equal(failedBundle);
    env.servers[0].stop('test over');
    const [s1] = await env.done;
    expect(s1).to.include({ clients: 2, inferences: 1, failedClients: 1 });
  });

  it('the helper refuses pre-dealt work of another bundle or another model (MPCC5050) before any round; a client told another bundle than the helper hands it refuses the session (MPCC5050) and the next client is served', async () => {
    const runner = serverRunner(modes.classic.arts[2]);
    runner.adoptSetup('test', new Uint8Array(randomBytes(16)));
    const id = 'ab'.repeat(16);
    const dealt = await runner.deal({ id, pairs: { 0: new PrgFamily(new Uint8Array(randomBytes(16))), 1: new PrgFamily(new Uint8Array(randomBytes(16))) }, own: privateFamily() });
    const noRound = { bundle: 'cd'.repeat(16), round: () => Promise.reject(new Error('a round')) } as unknown as Session;
    const refused = (p: Promise<unknown>) => p.then(() => 'ran', (e: { code?: string; message: string }) => `${e.code}: ${e.message}`);
    expect(await refused(exchangeOffline(noRound, modes.classic.arts[2].program, dealt))).to.match(/^MPCC5050: .*another inference \(pre-dealt bundle\) \(bundle:abab.*this run is bundle:cdcd/);
    expect(await refused(exchangeOffline({ ...noRound, bundle: id } as unknown as Session, modes['client-offline'].arts[2].program, dealt))).to.match(/^MPCC5050: .*another model \(program\)/);

    // P1's accept altered on its way to the client: the helper's sealed word disagrees.
    const env = await startServers('classic');
    const send = LinkMux.prototype.sendControl;
    LinkMux.prototype.sendControl = function (this: LinkMux, m) {
      return send.call(this, m.t === 'accept' && typeof m.bundle === 'string' ? { ...m, bundle: 'ef'.repeat(16) } : m);
    };
    try {
      expect(await codeOf(client('classic', env.peers, [0]))).to.equal('MPCC5050');
    } finally {
      LinkMux.prototype.sendControl = send;
    }
    const [next] = await client('classic', env.peers, [2]);
    expectClose('classic', next.output, 2, 'the next client');
    env.servers[0].stop('test over');
    const [s1] = await env.done;
    expect(s1).to.include({ clients: 2, inferences: 1, failedClients: 1 });
  });

  for (const predeal of [false, 'server only'] as const) {
    it(`without pre-dealing (${predeal === false ? '--no-predeal at both servers' : 'a helper with --no-predeal declines, P1 stops asking'}): the same outputs, nothing pre-dealt`, async () => {
      const env = await startServers('classic', { predeal });
      for (const inputs of [[3, 2], [1]]) {
        const runs = await client('classic', env.peers, inputs);
        runs.forEach((r, i) => expectClose('classic', r.output, inputs[i], `inference ${i}`));
        expect(runs.map((r) => r.bundle)).to.deep.equal(inputs.map(() => null));
      }
      env.servers[0].stop('test over');
      await env.done;
      expect(env.runs.every((r) => r.result.predealSeconds === null && r.bundle === null)).to.equal(true);
      expect(env.logs.filter((l) => /does not pre-deal/.test(l))).to.have.length(predeal === false ? 0 : 1);
    });
  }

  it('a stop while P1 waits for the helper\'s answer to its bundle ends P1 at once (a helper that never answers)', async () => {
    const peers = await freeLocalAddresses();
    const runner = serverRunner(modes.classic.arts[1]);
    const p1 = new ServingParty({ id: 1, peers, tag, identity: ids[1], log: () => undefined, setupId: runner.setupId, predeal: { adoptSetup: () => undefined, deal: () => Promise.resolve(null) } }, async () => undefined);
    const served = p1.serve();
    const mute = new LinkMux(await dial(2, 1, peers[1], { deadline: Date.now() + 5000, timeoutMs: 5000, max: 1 << 20, tag, identity: ids[2] }));
    expect((await mute.nextControl(5000)).t).to.equal('predeal');
    const t0 = performance.now();
    p1.stop('SIGTERM');
    expect((await served).reason).to.equal('SIGTERM');
    expect(performance.now() - t0).to.be.below(1000);
    await mute.close();
  });

  it('a client that comes while the helper still deals its bundle waits for the dealing, then runs: the output right, the bundle used', async () => {
    const env = await startServers('classic', { slowDeal: 500 });
    const t0 = performance.now();
    const [r] = await client('classic', env.peers, [3]);
    expect(performance.now() - t0).to.be.at.least(400);
    expectClose('classic', r.output, 3, 'the early client');
    expect(r.bundle).to.match(/^[0-9a-f]{32}$/);
    env.servers[0].stop('test over');
    await env.done;
    expect(env.runs.find((x) => x.party === 2)!.result.predealSeconds).to.be.above(0);
  });

  it('a stop while the helper pre-deals ends both servers cleanly (the dealing abandoned); the P1–P2 link lost meanwhile is fatal with a coded error', async () => {
    {
      const env = await startServers('classic', { slowDeal: 400 });
      await new Promise((r) => setTimeout(r, 150));
      env.servers[1].stop('SIGTERM');
      const [s1, s2] = await env.done;
      expect(s2.reason).to.equal('SIGTERM');
      expect(s1.reason).to.match(/the helper stopped: SIGTERM/);
      await new Promise((r) => setTimeout(r, 400));
      expect(env.logs.filter((l) => /pre-dealt in|pre-dealing .* failed/.test(l))).to.deep.equal([]);
    }
    {
      const env = await startServers('classic', { slowDeal: 400 });
      await new Promise((r) => setTimeout(r, 150));
      (env.servers[0] as unknown as { helper: LinkMux }).helper.base.socket.destroy();
      const settled = await Promise.allSettled(env.each);
      for (const s of settled) expect(s.status === 'rejected' ? (s.reason as { code?: string }).code : 'served on').to.match(/^MPCC50\d\d$/);
      await new Promise((r) => setTimeout(r, 400));
      expect(env.logs.filter((l) => /pre-dealt in/.test(l))).to.deep.equal([]);
    }
  });
});
