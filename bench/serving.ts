// `npm run bench -- serving --stdin [--json] [--model NAME] [--runs N] [--pause MS]`: the latency a
// user sees when inputs come one by one (runStdin below).
//
// `npm run bench -- serving --predeal [--json] [--model NAME] [--plan BHxBW] [--client-offline]
// [--runs N] [--pause MS]`: the time from a client's connection to its output, the helper
// pre-dealing (the default of `mpcc party --serve`) vs `--no-predeal`, in the same run
// (runPredeal below).
//
// `npm run bench -- serving [--json] [--model NAME] [--runs N]`: back-to-back inferences of one
// zoo model (resnet18-cifar by default) against one server session (`mpcc party --serve`: P1
// and P2 stay up) beside the baseline measured in the same run, one process set per inference
// (`mpcc run`, three processes each time, the one-time setup paid each time). Three ways:
//   - baseline: N times `mpcc run --json` (wall time of each command);
//   - clients: N successive client processes (`mpcc party --id 0 --serve`), each paying its
//     process start, its connection and the one-time setup's bytes (W − B) again;
//   - one connection: one client process with N inputs (`--input` N times), paying the
//     one-time setup once.
// Inferences per minute = 60 × N / the wall seconds of the N inferences (process starts
// included for the baseline and the clients, as a user sees them). The one-time setup's bytes
// (cost.json) and seconds (the client's report) are listed apart: the server session computes
// the mask once, each new client receives W − B once.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PARTY_NODE_FLAGS } from '../compiler/commands/run.js';
import { encodeNpy } from '../compiler/npy.js';
import { buildZooModel, zooEntry } from '../examples/zoo/index.js';
import { freeLocalAddresses } from '../runtime/session/connect.js';
import { writeKeyPair } from '../runtime/session/identity.js';
import { benchInput } from './inputs.js';
import { clientRunner, loadPartyArtifacts, sessionTag } from '../runtime/program/index.js';
import { loadIdentity } from '../runtime/session/identity.js';
import { runAsClient } from '../runtime/transport/serving-client.js';
import { setKernelThreads } from '../runtime/kernels/kernel-threads.js';

const CLI = fileURLToPath(new URL('../../bin/mpcc.js', import.meta.url));
const PARTY_CLI = fileURLToPath(new URL('../compiler/party-cli.js', import.meta.url));

/** One row: a way of running N inferences. */
interface Row {
  way: string;
  inferences: number;
  wallSeconds: number;
  perMinute: number;
  /** Seconds of one inference inside the parties (setup excluded), mean. */
  inferenceSeconds: number;
  /** One-time setup paid: times and seconds (the client's setupSeconds, summed). */
  setups: number;
  /** null: not reported (mpcc run's summary leaves the setup out). */
  setupSeconds: number | null;
  oneTimeMB: number;
}

interface PartyJson {
  seconds: number;
  setupSeconds: number;
  oneTimeRounds: number;
}

function secondsSince(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const env = { ...process.env, MPCC_THREADS: '1' };

/** Runs `args` to completion; its stdout. */
function node(args: string[]): string {
  return execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26, env });
}

/** Starts a serving party; resolves when it exits. */
function startServer(args: string[]): { child: ChildProcess; exit: Promise<number | null> } {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  return { child, exit: new Promise((resolve) => child.on('close', resolve)) };
}

/** What a stdin-fed client prints per input (compiler/commands/party.ts, ServedInput). */
interface ServedJson {
  input: string;
  latencySeconds: number;
  onlineSeconds: number;
  offlineSeconds: number;
  setupSeconds: number;
  preparedBeforeInput: boolean;
}

interface ClientJson extends PartyJson {
  onlineSeconds: number;
  offlineSeconds: number;
}

/** `--stdin`: N inputs that come one by one, a pause between them (the user's think time),
 * against one server session, two ways in the same run on the same servers:
 *   - prepared: one client fed on stdin (`mpcc party --id 0 --serve --input -`), which runs
 *     each next inference's handshake, setup and offline phase while it waits: latency = line
 *     read → output written (the client's latencySeconds);
 *   - on arrival (today's way): each input its own inference once it has come: latency = that
 *     inference's offline + online seconds (its client's report; the process start, the
 *     connection and the one-time setup left out, in today's favour, and listed apart). */
async function runStdin(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const at = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const model = at('--model') ?? 'resnet18-cifar';
  const n = Number(at('--runs') ?? 5);
  const pauseMs = Number(at('--pause') ?? 3000);
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-serving-stdin-'));
  const pause = () => new Promise((r) => setTimeout(r, pauseMs));
  try {
    writeFileSync(join(dir, 'model.onnx'), buildZooModel(model));
    const out = join(dir, 'out');
    node([CLI, 'compile', join(dir, 'model.onnx'), '-o', out, '--quiet']);
    const shape = zooEntry(model).inputShape;
    const inputs = Array.from({ length: n }, (_, k) => {
      const path = join(dir, `x${k}.npy`);
      writeFileSync(path, encodeNpy(shape, benchInput(shape.reduce((a, b) => a * b, 1), 1000 + k)));
      return path;
    });
    const keys = join(dir, 'keys');
    for (const id of [0, 1, 2] as const) writeKeyPair(keys, id);
    const keyFlags = (id: number) => ['--key', join(keys, `party${id}.key`), '--peer-keys', keys];
    const peers = (await freeLocalAddresses()).join(',');
    // Every party with mpcc run's node flags (V8's GC on the party's own thread: three parties share the cores).
    const servers = [1, 2].map((id) => startServer([...PARTY_NODE_FLAGS, PARTY_CLI, 'party', out, '--id', String(id), '--peers', peers, '--serve', '--quiet', ...keyFlags(id)]));

    // Prepared: one client on stdin.
    const client = spawn(process.execPath, [...PARTY_NODE_FLAGS, PARTY_CLI, 'party', out, '--id', '0', '--peers', peers, '--serve', '--quiet', '--json', ...keyFlags(0), '--input', '-', '-o', join(dir, 'y')], { stdio: ['pipe', 'pipe', 'inherit'], env });
    const clientExit = new Promise<number | null>((resolve) => client.on('close', resolve));
    const served = createInterface({ input: client.stdout! })[Symbol.asyncIterator]();
    const prepared: ServedJson[] = [];
    for (const x of inputs) {
      await pause();
      client.stdin!.write(x + '\n');
      const line = await served.next();
      if (line.done) throw new Error(`the stdin-fed client ended early (exit ${await clientExit})`);
      prepared.push(JSON.parse(line.value) as ServedJson);
    }
    client.stdin!.end();
    if ((await clientExit) !== 0) throw new Error('the stdin-fed client failed');

    // On arrival: each input its own client and inference after the pause.
    const arrival: (ClientJson & { wallSeconds: number })[] = [];
    for (const x of inputs) {
      await pause();
      const t0 = process.hrtime.bigint();
      const r = JSON.parse(node([...PARTY_NODE_FLAGS, PARTY_CLI, 'party', out, '--id', '0', '--peers', peers, '--serve', '--quiet', '--json', ...keyFlags(0), '--input', x])) as ClientJson;
      arrival.push({ ...r, wallSeconds: secondsSince(t0) });
    }
    for (const s of servers) s.child.kill('SIGTERM');
    await Promise.all(servers.map((s) => s.exit));

    const rows = inputs.map((_, k) => ({
      input: k + 1,
      preparedLatency: prepared[k].latencySeconds,
      preparedOnline: prepared[k].onlineSeconds,
      preparedOffline: prepared[k].offlineSeconds,
      preparedBeforeInput: prepared[k].preparedBeforeInput,
      arrivalLatency: arrival[k].offlineSeconds + arrival[k].onlineSeconds,
      arrivalOffline: arrival[k].offlineSeconds,
      arrivalSetup: arrival[k].setupSeconds,
      arrivalWall: arrival[k].wallSeconds,
    }));
    if (json) {
      console.log(JSON.stringify(rows.map((r) => ({ model, pauseMs, ...r, load1: loadavg()[0] }))));
      return;
    }
    const median = (f: (r: (typeof rows)[number]) => number) => {
      const v = rows.map(f).sort((a, b) => a - b);
      return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    };
    console.log(`${model}, ${n} inputs one by one, ${pauseMs} ms apart, one server session (loopback, three parties on one machine; load ${loadavg()[0].toFixed(1)})`);
    console.log('| input | prepared: latency s (line → output written) | its online s | its offline s (before the line) | on arrival: offline + online s | its offline s | its setup s | its client process s |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(`| ${r.input} | ${r.preparedLatency.toFixed(3)} | ${r.preparedOnline.toFixed(3)} | ${r.preparedOffline.toFixed(3)}${r.preparedBeforeInput ? '' : ' (not before)'} | ${r.arrivalLatency.toFixed(3)} | ${r.arrivalOffline.toFixed(3)} | ${r.arrivalSetup.toFixed(3)} | ${r.arrivalWall.toFixed(2)} |`);
    }
    console.log(`| median | ${median((r) => r.preparedLatency).toFixed(3)} | ${median((r) => r.preparedOnline).toFixed(3)} | ${median((r) => r.preparedOffline).toFixed(3)} | ${median((r) => r.arrivalLatency).toFixed(3)} | ${median((r) => r.arrivalOffline).toFixed(3)} | ${median((r) => r.arrivalSetup).toFixed(3)} | ${median((r) => r.arrivalWall).toFixed(2)} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `--predeal`: clients that come one by one (a pause between them: the servers' idle time),
 * each running one inference, against two server sessions in the same run: P1 and P2 pre-dealing
 * (the default) and with `--no-predeal`. The client is this process (its artifacts loaded and its
 * code warmed up by one unmeasured client first, so no process start is counted): latency = dial
 * → output (connection, handshake, W − B received, offline and online phases). With pre-dealing
 * each client waits until the helper logged its bundle ready (then the pause), so the figure is
 * the one a client sees after the servers' idle time; the helper's pre-dealing seconds come from
 * its --json report. */
async function runPredeal(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const at = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const model = at('--model') ?? 'resnet18-cifar';
  const block = at('--plan');
  const clientOffline = args.includes('--client-offline');
  const n = Number(at('--runs') ?? 5);
  const pauseMs = Number(at('--pause') ?? 1000);
  setKernelThreads(false); // the client's kernels on its own thread, as the servers' (MPCC_THREADS=1)
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-serving-predeal-'));
  try {
    const onnx = join(dir, 'model.onnx');
    writeFileSync(onnx, buildZooModel(model));
    const out = join(dir, 'out');
    const planFlags: string[] = [];
    if (block) {
      node([CLI, 'plan', onnx, '--uniform', block, '-o', join(dir, 'plan.json'), '--quiet']);
      planFlags.push('--plan', join(dir, 'plan.json'));
    }
    node([CLI, 'compile', onnx, '-o', out, '--quiet', ...planFlags, ...(clientOffline ? ['--client-offline'] : [])]);
    const shape = zooEntry(model).inputShape;
    const xs = Array.from({ length: n + 1 }, (_, k) => benchInput(shape.reduce((a, b) => a * b, 1), 2000 + k));
    const keys = join(dir, 'keys');
    for (const id of [0, 1, 2] as const) writeKeyPair(keys, id);
    const keyFlags = (id: number) => ['--key', join(keys, `party${id}.key`), '--peer-keys', keys];
    const arts = await loadPartyArtifacts(out, 0);
    const identity = loadIdentity(0, join(keys, 'party0.key'), keys);
    const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
    type Measured = { latency: number; setup: number; offline: number; online: number; predealSeconds: number | null };
    // Both server sessions up at once, their clients alternating (the load of the other jobs
    // on this machine drifts: alternating shares it out), and no client measured while the
    // pre-dealing helper still deals (each waits until it logged its next bundle ready).
    const ways = await Promise.all(
      ['pre-dealt', '--no-predeal'].map(async (way) => {
        const peers = (await freeLocalAddresses()) as [string, string, string];
        const servers = [1, 2].map((id) => {
          const child = spawn(process.execPath, [...PARTY_NODE_FLAGS, PARTY_CLI, 'party', out, '--id', String(id), '--peers', peers.join(','), '--serve', '--json', ...keyFlags(id), ...(way === 'pre-dealt' ? [] : ['--no-predeal'])], { stdio: ['ignore', 'pipe', 'pipe'], env });
          let err = '';
          let stdout = '';
          child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
          child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
          return { child, err: () => err, out: () => stdout, exit: new Promise<number | null>((resolve) => child.on('close', resolve)) };
        });
        return { way, peers, servers, runs: [] as Measured[], clients: 0 };
      }),
    );
    const [predealt] = ways;
    const dealtCount = () => (predealt.servers[1].err().match(/next inference pre-dealt in/g) ?? []).length;
    for (let k = 0; k <= n; k++) {
      for (const w of ways) {
        while (dealtCount() < predealt.clients + 1) await pause(50);
        await pause(pauseMs);
        const t0 = performance.now();
        const infer = clientRunner(arts); // a new client: it receives W − B again
        const [r] = await runAsClient({ peers: w.peers, tag: sessionTag(arts.manifest), identity, inferences: 1 }, (session) => infer(session, xs[k]));
        const latency = (performance.now() - t0) / 1000;
        w.clients++;
        if (k > 0) w.runs.push({ latency, setup: r.seconds.setup, offline: r.seconds.offline, online: r.seconds.online, predealSeconds: null }); // k = 0: warm-up
      }
    }
    for (const w of ways) {
      for (const s of w.servers) s.child.kill('SIGTERM');
      const codes = await Promise.all(w.servers.map((s) => s.exit));
      if (codes.some((c) => c !== 0)) throw new Error(`a serving party exited with ${codes.join(', ')}: ${w.servers.map((s) => s.err()).join('\n')}`);
      const helper = w.servers[1].out().trim().split('\n').slice(0, n + 1).map((l) => JSON.parse(l) as { predealSeconds?: number | null });
      w.runs.forEach((r, k) => (r.predealSeconds = helper[k + 1]?.predealSeconds ?? null));
    }
    const median = (v: number[]) => {
      const s = [...v].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    // The mode compiled (a planned compile may choose it: cost.json says which).
    const mode = (JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as { mode?: string }).mode ?? 'classic';
    const label = `${model}${block ? `@${block}` : ''} (${mode} mode)`;
    if (json) {
      console.log(JSON.stringify(ways.map((w) => ({ model: label, way: w.way, pauseMs, runs: w.runs, load1: loadavg()[0] }))));
      return;
    }
    console.log(`${label}, ${n} clients per way, alternating, ${pauseMs} ms idle before each, one inference each (loopback, three parties on one machine; load ${loadavg()[0].toFixed(1)})`);
    console.log('| way | connection → output s (median) | each | setup s | offline s | online s | helper pre-dealing s (before the client) |');
    console.log('|---|---|---|---|---|---|---|');
    for (const w of ways) {
      const m = (f: (r: Measured) => number) => median(w.runs.map(f)).toFixed(3);
      const pre = w.runs.every((r) => r.predealSeconds === null) ? '—' : m((r) => r.predealSeconds ?? 0);
      console.log(`| ${w.way} | ${m((r) => r.latency)} | ${w.runs.map((r) => r.latency.toFixed(2)).join(', ')} | ${m((r) => r.setup)} | ${m((r) => r.offline)} | ${m((r) => r.online)} | ${pre} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the benchmark; prints a table, or a JSON array with --json. */
export async function run(args: string[]): Promise<void> {
  if (args.includes('--stdin')) return runStdin(args);
  if (args.includes('--predeal')) return runPredeal(args);
  const json = args.includes('--json');
  const at = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const model = at('--model') ?? 'resnet18-cifar';
  const n = Number(at('--runs') ?? 5);
  const dir = mkdtempSync(join(tmpdir(), 'mpcc-bench-serving-'));
  try {
    writeFileSync(join(dir, 'model.onnx'), buildZooModel(model));
    const out = join(dir, 'out');
    node([CLI, 'compile', join(dir, 'model.onnx'), '-o', out, '--quiet']);
    const cost = JSON.parse(readFileSync(join(out, 'cost.json'), 'utf8')) as { bytes: { oneTime: number } };
    const oneTimeMB = cost.bytes.oneTime / 1e6;
    const shape = zooEntry(model).inputShape;
    const inputs = Array.from({ length: n }, (_, k) => {
      const path = join(dir, `x${k}.npy`);
      writeFileSync(path, encodeNpy(shape, benchInput(shape.reduce((a, b) => a * b, 1), 1000 + k)));
      return path;
    });
    const rows: Row[] = [];

    // Baseline: one process set per inference.
    {
      let t = 0;
      let inner = 0;
      for (const x of inputs) {
        const t0 = process.hrtime.bigint();
        const r = JSON.parse(node([CLI, 'run', out, '--input', x, '--json'])) as { wallSeconds: number };
        t += secondsSince(t0);
        inner += r.wallSeconds;
      }
      rows.push({ way: 'mpcc run per inference (3 processes each)', inferences: n, wallSeconds: t, perMinute: (60 * n) / t, inferenceSeconds: inner / n, setups: n, setupSeconds: null, oneTimeMB: n * oneTimeMB });
    }

    const keys = join(dir, 'keys');
    for (const id of [0, 1, 2] as const) writeKeyPair(keys, id);
    const keyFlags = (id: number) => ['--key', join(keys, `party${id}.key`), '--peer-keys', keys];
    const serveWay = async (way: string, clients: string[][]) => {
      const peers = (await freeLocalAddresses()).join(',');
      const servers = [1, 2].map((id) => startServer([PARTY_CLI, 'party', out, '--id', String(id), '--peers', peers, '--serve', '--quiet', ...keyFlags(id), '--max-inferences', String(n)]));
      let t = 0;
      const reports: PartyJson[] = [];
      for (const xs of clients) {
        const t0 = process.hrtime.bigint();
        const stdout = node([PARTY_CLI, 'party', out, '--id', '0', '--peers', peers, '--serve', '--json', '--quiet', ...keyFlags(0), ...xs.flatMap((x) => ['--input', x])]);
        t += secondsSince(t0);
        reports.push(...stdout.trim().split('\n').map((l) => JSON.parse(l) as PartyJson));
      }
      const codes = await Promise.all(servers.map((s) => s.exit));
      if (codes.some((c) => c !== 0)) throw new Error(`a serving party exited with ${codes.join(', ')}`);
      const withSetup = reports.filter((r) => r.oneTimeRounds > 0);
      const setups = withSetup.length;
      rows.push({
        way,
        inferences: n,
        wallSeconds: t,
        perMinute: (60 * n) / t,
        inferenceSeconds: reports.reduce((a, r) => a + r.seconds, 0) / reports.length,
        setups,
        setupSeconds: withSetup.reduce((a, r) => a + r.setupSeconds, 0),
        oneTimeMB: setups * oneTimeMB,
      });
    };
    await serveWay('one server session, a client process per inference', inputs.map((x) => [x]));
    await serveWay('one server session, one client with N inputs', [inputs]);

    if (json) {
      console.log(JSON.stringify(rows.map((r) => ({ model, ...r, load1: loadavg()[0] }))));
      return;
    }
    console.log(`${model}, ${n} back-to-back inferences per way (loopback, three parties on one machine; load ${loadavg()[0].toFixed(1)})`);
    console.log('| way | inferences/min | wall s (N) | s per inference in the parties | one-time setups | setup s (sum) | one-time MB sent |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of rows) console.log(`| ${r.way} | ${r.perMinute.toFixed(1)} | ${r.wallSeconds.toFixed(2)} | ${r.inferenceSeconds.toFixed(3)} | ${r.setups} | ${r.setupSeconds === null ? '—' : r.setupSeconds.toFixed(3)} | ${r.oneTimeMB.toFixed(1)} |`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
