// Serving (runtime/transport/serving.ts): P1 and P2 stay up and serve clients one after another
// over authenticated loopback TCP, here in this process (the CLI's side is in
// test/compiler/commands/party-serve.test.ts). tiny-cnn, references: the fixed-point
// interpreter (within 8 ulps: local share truncation, test/e2e/fixed-vs-secure.test.ts) and
// the first inference of each input.

import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { loadGraphFile } from '../../../compiler/load-model.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { runGraphFixed } from '../../../ir/interp/fixed/index.js';
import { tensorOf } from '../../../ir/tensor.js';
import { runPipeline } from '../../../passes/index.js';
import { clientRunner, loadPartyArtifacts, serverRunner, sessionTag, type PartyArtifacts } from '../../../runtime/program/index.js';
import { ephemeralIdentities, freeLocalAddresses, type PartyIdentity, type ReceivedPayload } from '../../../runtime/session/connect.js';
import { LinkMux } from '../../../runtime/transport/link-mux.js';
import { ServingParty, type ServeSummary } from '../../../runtime/transport/serving.js';
import { NoMoreInput, runAsClient } from '../../../runtime/transport/serving-client.js';
import { readClientInput } from '../../../compiler/commands/secure-support.js';
import { dial } from '../../../runtime/transport/tcp.js';
import type { RuntimeError } from '../../../runtime/diagnostics.js';
import { rng } from '../../passes/util.js';

const ULP = 2 ** -12;
const codeOf = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code);

describe('serving: a server and helper that serve many clients', function () {
  this.timeout(120000);
  let dir = '';
  let arts: PartyArtifacts[] = [];
  let tag = '';
  let xs: Float32Array[] = [];
  let expected: Float64Array[] = [];
  const ids = ephemeralIdentities();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mpcc-serving-'));
    writeFileSync(join(dir, 'tiny.onnx'), buildZooModel('tiny-cnn'));
    runCompile(join(dir, 'tiny.onnx'), { fracBits: 12, output: join(dir, 'out') });
    arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(join(dir, 'out'), id)));
    tag = sessionTag(arts[0].manifest);
    const g = runPipeline(loadGraphFile(join(dir, 'tiny.onnx')), 'canonicalize,quantize{frac-bits=12}').graph;
    const rand = rng(17);
    xs = Array.from({ length: 4 }, () => Float32Array.from({ length: 3 * 16 * 16 }, () => 2 * rand() - 1));
    expected = xs.map((x) => runGraphFixed(g, { input: tensorOf('float32', [1, 3, 16, 16], x) }, { frac: 12 }).outputs.get('output')!.data as Float64Array);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** P1 and P2 serving in this process; `logs` collects their event lines. */
  async function startServers(opts: { maxInferences?: number; timeoutMs?: number; clientSilenceMs?: number } = {}) {
    const peers = await freeLocalAddresses();
    const logs: string[] = [];
    const servers = ([1, 2] as const).map((id) => {
      const runner = serverRunner(arts[id]);
      return new ServingParty({ id, peers, tag, identity: ids[id], timeoutMs: opts.timeoutMs, maxInferences: opts.maxInferences, clientSilenceMs: opts.clientSilenceMs, log: (l) => logs.push(l), setupId: runner.setupId }, async (s, ctx) => {
        await runner.run(s, ctx.index, ctx.reuseSetup, ctx.clientReady ?? undefined);
      });
    });
    const done = Promise.all(servers.map((s) => s.serve())) as Promise<[ServeSummary, ServeSummary]>;
    return { peers, logs, servers, done };
  }

  /** One client connection running `inputs` (indices into xs); per inference its output and what P0 received. */
  function client(peers: readonly [string, string, string], inputs: number[], identity: PartyIdentity = ids[0], hold?: Promise<void>, stall = false) {
    const infer = clientRunner(arts[0]);
    return runAsClient({ peers, tag, identity, inferences: inputs.length, recordReceived: true }, async (s, index) => {
      if (hold) await hold;
      if (stall) {
        // The one-time setup's frame, then a round that waits for a frame P1 never sends.
        await s.round([], [1]);
        await s.round([], [1]);
      }
      const r = await infer(s, xs[inputs[index]]);
      return { output: r.outputs.get('output')!, received: s.receivedLog.slice() };
    });
  }

  function expectClose(output: Float64Array, x: number, what: string): void {
    for (let i = 0; i < output.length; i++) expect(Math.abs(output[i] - expected[x][i]), `${what}, logit ${i}`).to.be.at.most(8 * ULP);
  }

  it('100 back-to-back inferences (10 clients x 10) on one server session: outputs within 8 ulps of the fixed-point interpreter, fresh masks per inference, flat memory', async () => {
    const { peers, servers, done, logs } = await startServers();
    const inputs = [0, 0, 1, 2, 3, 1, 2, 3, 0, 1];
    const seen: { output: Float64Array; received: ReceivedPayload[] }[][] = [];
    let rssAfterWarmup = 0;
    for (let c = 0; c < 10; c++) {
      const runs = await client(peers, inputs);
      runs.forEach((r, i) => expectClose(r.output, inputs[i], `client ${c} inference ${i}`));
      // Keep only the first two clients' logs (the check below), not 100 inferences' worth.
      if (c < 2) seen.push(runs);
      if (c === 1) rssAfterWarmup = process.memoryUsage().rss;
    }
    const growth = process.memoryUsage().rss - rssAfterWarmup;
    expect(growth, `RSS grew by ${(growth / 1e6).toFixed(1)} MB over 80 inferences`).to.be.below(64e6);
    servers[0].stop('test over');
    const [s1, s2] = await done;
    expect(s1).to.include({ clients: 10, inferences: 100, failedClients: 0 });
    expect(s2).to.include({ clients: 10, inferences: 100, failedClients: 0 });
    expect(logs.filter((l) => /one-time setup reused/.test(l))).to.have.length(2 * 9);

    // Masks: the same input (x0) in inferences 0 and 1 of client 0 and inference 1 of client 1,
    // and what P0 received differs in every message of the inference (the first inference's
    // first message is the one-time setup, W − B: the same for every client of the session).
    // (The offline phase's closing exchange is an empty frame: nothing to compare.)
    const online = (r: ReceivedPayload[], setup: boolean) => (setup ? r.slice(1) : r).filter((p) => p.data.length > 0);
    const a = online(seen[0][0].received, true);
    const b = online(seen[0][1].received, false);
    const c = online(seen[1][1].received, false);
    expect(a.length).to.equal(b.length).and.to.be.above(3);
    for (let i = 0; i < a.length; i++) {
      expect(Buffer.from(a[i].data).equals(Buffer.from(b[i].data)), `message ${i}, inferences 0 and 1`).to.equal(false);
      expect(Buffer.from(b[i].data).equals(Buffer.from(c[i].data)), `message ${i}, clients 0 and 1`).to.equal(false);
    }
    expect(Buffer.from(seen[0][0].received[0].data).equals(Buffer.from(seen[1][0].received[0].data))).to.equal(true);
  });

  it('--max-inferences: a client asking more than is left is refused (MPCC5032), the servers stop after the last one', async () => {
    const { peers, done, logs } = await startServers({ maxInferences: 3 });
    expect((await client(peers, [0, 1])).map((r) => r.output.length)).to.deep.equal([10, 10]);
    const refused = await client(peers, [0, 1]).catch((e: Error) => e);
    expect(refused).to.have.property('code', 'MPCC5032');
    expect((refused as Error).message).to.match(/asks for 2 inference\(s\), the server has 1 left/);
    expect(logs).to.include('party 1: refused a client (MPCC5032): it asked for 2 inference(s), 1 left before --max-inferences');
    expectClose((await client(peers, [2]))[0].output, 2, 'last inference');
    const [s1, s2] = await done;
    expect(s1.inferences).to.equal(3);
    expect(s1.reason).to.match(/--max-inferences/);
    expect(s2.reason).to.match(/--max-inferences|the server stopped/);
  });

  it('a second client while one is served is refused (MPCC5031), never mixed; the first finishes, then the second is served', async () => {
    const { peers, servers, done, logs } = await startServers();
    let release = () => undefined as void;
    const gate = new Promise<void>((r) => (release = r));
    const first = client(peers, [0, 1], ids[0], gate);
    await new Promise((r) => setTimeout(r, 300)); // the first is in its inference
    expect(await codeOf(client(peers, [2]))).to.equal('MPCC5031');
    expect(logs.filter((l) => l === 'party 1: refused a client (MPCC5031): another client is being served')).to.have.length.at.least(1);
    release();
    const runs = await first;
    runs.forEach((r, i) => expectClose(r.output, [0, 1][i], `first client, inference ${i}`));
    expectClose((await client(peers, [2]))[0].output, 2, 'second client, served after');
    servers[1].stop('test over');
    const [s1] = await done;
    expect(s1).to.include({ clients: 2, inferences: 3 });
  });

  it('a stop during an inference aborts it (MPCC5034 at the client, naming the server), and both servers end', async () => {
    const { peers, servers, done } = await startServers();
    const stuck = codeOf(client(peers, [0], ids[0], undefined, true));
    await new Promise((r) => setTimeout(r, 300));
    servers[0].stop('SIGTERM');
    expect(await stuck).to.equal('MPCC5034');
    const [s1, s2] = await done;
    expect(s1.reason).to.equal('SIGTERM');
    expect(s2.reason).to.match(/the server stopped: SIGTERM/);
  });

  it('refuses a malformed hello (MPCC5030) and a client the helper never saw (MPCC5033), and keeps serving', async () => {
    const { peers, servers, done, logs } = await startServers({ timeoutMs: 600 });
    expect(await codeOf(runAsClient({ peers, tag, identity: ids[0], inferences: 0 }, async () => undefined))).to.equal('MPCC5030');
    // A client that reaches only the server.
    const mux = new LinkMux(await dial(0, 1, peers[1], { deadline: Date.now() + 2000, timeoutMs: 2000, max: 1 << 20, tag, identity: ids[0] }));
    mux.sendControl({ t: 'hello', nonce: 'ab'.repeat(16), inferences: 1 });
    expect(await mux.nextControl(5000)).to.deep.include({ t: 'refuse', code: 'MPCC5033' });
    await mux.close();
    expectClose((await client(peers, [3]))[0].output, 3, 'the next client');
    expect(logs.some((l) => /refused a client: .*inference count 0/.test(l))).to.equal(true);
    servers[0].stop('test over');
    await done;
  });

  it('a client whose key is not pinned is refused at the handshake; the servers keep serving', async () => {
    const { peers, servers, done, logs } = await startServers({ timeoutMs: 2000 });
    const rogue = ephemeralIdentities()[0];
    expect(await codeOf(client(peers, [0], { own: rogue.own, peers: ids[0].peers }))).to.equal('MPCC5015');
    expectClose((await client(peers, [1]))[0].output, 1, 'the real client');
    expect(logs.some((l) => /failed authentication/.test(l))).to.equal(true);
    servers[0].stop('test over');
    await done;
  });

  /** An open client (inputs one by one, as `mpcc party --input -` feeds them): `give(x)` hands
   * it the next input (an index into xs, a promise that fails, or null: the end), `prepared(k)`
   * resolves once inference k (0-based) finished its offline phase; `order` lists what
   * happened, in order. */
  function openClient(peers: readonly [string, string, string], signal?: AbortSignal) {
    const infer = clientRunner(arts[0]);
    const order: string[] = [];
    const feeds: ((x: Promise<number | null>) => void)[] = [];
    const pending: Promise<number | null>[] = [];
    const preparedAt: (() => void)[] = [];
    const preparedP: Promise<void>[] = [];
    const slot = (k: number) => {
      while (pending.length <= k) {
        pending.push(new Promise((r) => feeds.push(r)).then((p) => p as Promise<number | null>));
        preparedP.push(new Promise<void>((r) => preparedAt.push(r)));
      }
    };
    const outputs: Float64Array[] = [];
    const done = runAsClient({ peers, tag, identity: ids[0], inferences: 'open', signal }, async (s, index, prepared) => {
      slot(index);
      const x = prepared.awaitInput(
        pending[index].then((k) => {
          if (k === null) throw new NoMoreInput();
          order.push(`input ${index}`);
          return xs[k];
        }),
      );
      x.catch(() => undefined);
      const r = await infer(s, x, {
        signal,
        beforeOnline: async () => {
          order.push(`prepared ${index}`);
          preparedAt[index]();
        },
      });
      outputs.push(r.outputs.get('output')!);
      order.push(`output ${index}`);
    });
    done.catch(() => undefined);
    let given = 0;
    return {
      done,
      order,
      outputs,
      give: (x: number | null | Promise<never>) => {
        slot(given);
        feeds[given++](Promise.resolve(x));
      },
      prepared: (k: number) => (slot(k), preparedP[k]),
    };
  }

  /** After an open client left with one inference done: the next client (input x) is served,
   * no failure is counted, and the servers logged `left`. */
  async function expectLeftAfterOne(env: Awaited<ReturnType<typeof startServers>>, outputs: Float64Array[], x: number, left: string): Promise<void> {
    expect(outputs).to.have.length(1);
    expectClose((await client(env.peers, [x]))[0].output, x, 'the next client');
    env.servers[0].stop('test over');
    const [s1] = await env.done;
    expect(s1).to.include({ clients: 2, inferences: 2, failedClients: 0 });
    expect(env.logs).to.include(left);
  }

  it('an open client prepares each next inference before its input comes; outputs within 8 ulps of the fixed-point interpreter; the end of its input is a departure, not a failure', async () => {
    const { peers, servers, done, logs } = await startServers();
    const c = openClient(peers);
    const inputs = [2, 0, 3];
    c.give(inputs[0]);
    for (let k = 1; k < inputs.length; k++) {
      // Inference k's offline phase completes with no input given: only then does its input come.
      await c.prepared(k);
      expect(c.order.slice(-2), `inference ${k}`).to.deep.equal([`output ${k - 1}`, `prepared ${k}`]);
      c.give(inputs[k]);
    }
    await c.prepared(inputs.length);
    c.give(null);
    await c.done;
    expect(c.order).to.deep.equal(['input 0', 'prepared 0', 'output 0', 'prepared 1', 'input 1', 'output 1', 'prepared 2', 'input 2', 'output 2', 'prepared 3']);
    c.outputs.forEach((y, k) => expectClose(y, inputs[k], `open client, inference ${k}`));
    // The servers serve the next client (a fixed count: an old client) at once.
    expectClose((await client(peers, [1]))[0].output, 1, 'the next client');
    servers[0].stop('test over');
    const [s1, s2] = await done;
    expect(s1).to.include({ clients: 2, inferences: 4, failedClients: 0 });
    expect(s2).to.include({ clients: 2, inferences: 4, failedClients: 0 });
    for (const id of [1, 2]) expect(logs).to.include(`party ${id}: client 1: left (end of its input) after 3 inference(s); its prepared inference 4 is abandoned`);
  });

  it('an open client whose input fails (a missing file, MPCC0002 naming it) leaves; its prepared session is abandoned and the servers serve the next client', async () => {
    const { peers, servers, done, logs } = await startServers();
    const c = openClient(peers);
    c.give(1);
    await c.prepared(1);
    const missing = join(dir, 'no-such.npy');
    c.give(Promise.resolve().then(() => readClientInput(missing, arts[0].manifest)) as Promise<never>);
    const err = await c.done.then(() => null, (e: Error & { code?: string }) => e);
    expect(err).to.have.property('code', 'MPCC0002');
    expect(err!.message).to.include(missing);
    await expectLeftAfterOne({ peers, servers, done, logs }, c.outputs, 3, 'party 1: client 1: left (an error at the client) after 1 inference(s); its prepared inference 2 is abandoned');
  });

  it('a server that stops while an open client waits for its input ends the client at once (MPCC5034 naming it), no hang', async () => {
    const { peers, servers, done } = await startServers();
    const c = openClient(peers);
    c.give(0);
    await c.prepared(1);
    servers[1].stop('SIGTERM');
    const err = await c.done.then(() => null, (e: Error & { code?: string }) => e);
    expect(err).to.have.property('code', 'MPCC5034');
    expect(err!.message).to.match(/peer 2 .*is stopping \(SIGTERM\)/);
    const [s1, s2] = await done;
    expect(s1.reason).to.match(/the helper stopped: SIGTERM/);
    expect(s2.reason).to.equal('SIGTERM');
  });

  it('a stop at the client while its inference is prepared: MPCC5051, the servers told (a departure), nothing run', async () => {
    const { peers, servers, done, logs } = await startServers();
    const stop = new AbortController();
    const c = openClient(peers, stop.signal);
    c.give(3);
    await c.prepared(1);
    stop.abort('SIGTERM');
    const err = await c.done.then(() => null, (e: Error & { code?: string }) => e);
    expect(err).to.have.property('code', 'MPCC5051');
    expect(err!.message).to.match(/stopped \(SIGTERM\) during the offline phase/);
    await expectLeftAfterOne({ peers, servers, done, logs }, c.outputs, 0, 'party 2: client 1: left (stopped at the client) after 1 inference(s); its prepared inference 2 is abandoned');
  });

  it('--max-inferences reached during an open client: the client is told at once (MPCC5034 naming the limit), never left preparing', async () => {
    const { peers, done } = await startServers({ maxInferences: 2 });
    const c = openClient(peers);
    c.give(0);
    c.give(1);
    const err = await c.done.then(() => null, (e: Error & { code?: string }) => e);
    expect(err).to.have.property('code', 'MPCC5034');
    expect(err!.message).to.match(/is stopping \(served 2 inference\(s\) \(--max-inferences\)\)/);
    c.outputs.forEach((y, k) => expectClose(y, k, `open client, inference ${k}`));
    expect(c.outputs).to.have.length(2);
    const [s1, s2] = await done;
    expect(s1).to.include({ inferences: 2, failedClients: 0 });
    expect(s2.inferences).to.equal(2);
  });

  it('a prepared inference whose client goes silent is given up (MPCC5035) and the next client is served: no server waits forever', async () => {
    // The servers allow 1 s of silence; the client speaks every 3 s (CLIENT_HEARTBEAT_MS).
    const { peers, servers, done, logs } = await startServers({ clientSilenceMs: 1000 });
    const c = openClient(peers);
    c.give(2);
    const err = await c.done.then(() => null, (e: Error & { code?: string }) => e);
    // the servers say so before they close: the client learns why, not only that they left
    expect(err).to.have.property('code', 'MPCC5036');
    expect(err!.message).to.match(/^peer [12] \((server|helper)\) gave up this client: it heard nothing from it for 1000 ms while its inference 2 was prepared/);
    expect(logs.some((l) => /party 1: client 1: inference 2 ended: error MPCC5035: peer 0 \(client\) said nothing for 1000 ms while its inference 2 was prepared/.test(l)), logs.join('\n')).to.equal(true);
    expectClose((await client(peers, [1]))[0].output, 1, 'the next client');
    servers[0].stop('test over');
    const [s1] = await done;
    expect(s1).to.include({ clients: 2, inferences: 2, failedClients: 1 });
  });

  it('a stop while the server still waits for its helper ends it at once', async () => {
    const peers = await freeLocalAddresses();
    const p1 = new ServingParty({ id: 1, peers, tag, identity: ids[1], timeoutMs: 60000, log: () => undefined, setupId: () => null }, async () => undefined);
    const done = p1.serve();
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    p1.stop('SIGTERM');
    expect((await done).reason).to.equal('SIGTERM');
    expect(Date.now() - t0).to.be.below(2000);
  });

  it("a helper of another compile ends the server's wait at once with MPCC5008 (and the helper too), not at the timeout", async () => {
    const peers = await freeLocalAddresses();
    const logs: string[] = [];
    const serving = (id: 1 | 2, t: string) => new ServingParty({ id, peers, tag: t, identity: ids[id], timeoutMs: 60000, log: (l) => logs.push(l), setupId: () => null }, async () => undefined).serve();
    const t0 = Date.now();
    const [e1, e2] = await Promise.all([codeOf(serving(1, tag)), codeOf(serving(2, `${tag}-other`))]);
    expect([e1, e2]).to.deep.equal(['MPCC5008', 'MPCC5008']);
    expect(Date.now() - t0, 'long before the 60 s timeout').to.be.below(20000);
    // said once, by the error (no refusal line beside it)
    expect(logs.filter((l) => /MPCC5008/.test(l)), logs.join('\n')).to.deep.equal([]);
  });

  it('a helper whose key the server refuses: the server gives up naming the refusal, and the helper is told the pins may be wrong on either side', async () => {
    const peers = await freeLocalAddresses();
    const rogue = ephemeralIdentities()[2];
    const p1 = new ServingParty({ id: 1, peers, tag, identity: ids[1], timeoutMs: 1500, log: () => undefined, setupId: () => null }, async () => undefined).serve();
    const p2 = new ServingParty({ id: 2, peers, tag, identity: { own: rogue.own, peers: ids[2].peers }, timeoutMs: 1500, log: () => undefined, setupId: () => null }, async () => undefined).serve();
    const [e1, e2] = await Promise.all([p1.then(() => undefined, (e: RuntimeError) => e), p2.then(() => undefined, (e: RuntimeError) => e)]);
    expect(e1?.code).to.equal('MPCC5006');
    expect(e1?.message).to.match(/the helper's connections were refused, the last one: a connection from .* \(claiming to be party 2\): it failed authentication/);
    expect(e2?.code).to.equal('MPCC5015');
    expect(e2?.message).to.match(/it pins another key for this party, or this party's pinned party1\.pub is not its key: compare fingerprints with mpcc keygen --show/);
  });
});
