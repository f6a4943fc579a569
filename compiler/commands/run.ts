// `mpcc run OUT --input X.npy [-o Y.npy] [--transport tcp|inproc] [--round-timeout MS] [--json]`: all three parties
// on this machine: by default three `mpcc party` processes over loopback TCP, or one process
// with in-memory links. The processes authenticate each other like a deployment does: this
// command makes a fresh key pair per party (in a private temporary folder, removed after the
// run) and gives each party its key and the other two public keys (--key, --peer-keys). Prints the output's top classes, wall time, bytes per party and
// rounds, the offline and online phases apart; with --json one object {wallSeconds, rounds,
// online: {seconds, rounds, bytes}, offline: {seconds, rounds, bytes}, bytes: {total, online,
// preprocessing, oneTime, perParty}, output, architecture}. With `--inputs A.npy B.npy …` (three processes) the server and
// helper serve all of them in one server session (`mpcc party --serve`): one client connection,
// one inference per input, the one-time setup once; a summary per input (JSON: one line each,
// its `input` first).
import type { Command } from 'commander';
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyFileNames, writeKeyPair } from '../../runtime/session/identity.js';
import { type ProgressFlags, type ProgressSink, NO_PROGRESS, action, checkOutputPath, cleanupOnSignal, commandProgress, stderrProgress, writeFileAtomic } from '../cli-support.js';
import { type DiagnosticCode, MpccError, diag } from '../../runtime/diagnostics.js';
import { createInProcessSessions, freeLocalAddresses, runParties } from '../../runtime/session/connect.js';
import { loadPartyArtifacts, readManifest, runProgram, sessionTag } from '../../runtime/program/index.js';
import { isClientOffline } from '../../runtime/program/program.js';
import { modelFileSha256 } from '../../passes/planning/plan-file.js';
import { encodeNpy, readNpy } from '../npy.js';
import { type PlaintextCheck, checkAgainstPlaintext, describeCheck } from '../narrow.js';
import { type OutputAgreement, describeAgreement, outputAgreement } from '../output-agreement.js';
import { type OutputPrinting, outputLines, outputPrinting, partyProgress, partyReport, readClientInput, recordedInputNote, type PartyReport } from './secure-support.js';
import { imageFlagArgs, imageFlagsFrom, withImageFlags } from './calib-flags.js';
import { jsonOption, outputOption, parseRoundTimeout, roundTimeoutOption, withProgressFlags } from './flags.js';

/** Options of the run command. */
export interface RunOptions extends ProgressFlags {
  readonly input?: string;
  /** Several inputs, one server session (three processes only). */
  readonly inputs?: readonly string[];
  readonly output?: string;
  readonly transport?: string;
  readonly json?: boolean;
  /** Class names to print (compiler/class-names.ts); default: the compile's. */
  readonly classes?: string;
  /** Round timeout in ms for every party (default: from each round's bytes). */
  readonly roundTimeout?: string;
  /** The model OUT was compiled from: check the run against plaintext (compiler/narrow.ts). */
  readonly verifyAgainstPlaintext?: string;
  /** --expected Y.npy: a plaintext run's output to compare with (compiler/output-agreement.ts). */
  readonly expected?: string;
}

/** One phase of an inference in the --json object: wall seconds (the slowest party), rounds
 * and bytes sent summed over the parties. */
export interface PhaseSummary {
  seconds: number;
  rounds: number;
  bytes: number;
  /** CPU seconds of each party, P0, P1, P2 (in-process runs: the one process's, thrice). */
  cpuSeconds: [number, number, number];
}

/** The --json object (bytes sent, summed over parties; total = online + preprocessing;
 * wallSeconds: one inference, offline and online phases, the one-time setup excluded like its
 * bytes). `online` is the latency a client feels (input given → output revealed) and its
 * bytes; `offline` the input-independent phase before it (runtime/program/offline.ts): its
 * seconds and its round (the closing exchange), and the input-independent bytes (phase
 * 'preprocessing': P2's comparison bit corrections and product corrections, and in the
 * client-offline mode P0's messages, all in the closing exchange). */
export interface RunSummary {
  wallSeconds: number;
  rounds: number;
  online: PhaseSummary;
  offline: PhaseSummary;
  bytes: { total: number; online: number; preprocessing: number; oneTime: number; perParty: [number, number, number] };
  output: string | null;
  /** --json without -o: the outputs' values by name (as `mpcc party --json` prints them), so a
   * script reads the result from the line; absent when -o wrote the output. */
  outputs?: Record<string, number[]>;
  /** With --expected: how the output agrees with the plaintext one (pixel agreement for maps). */
  agreement?: OutputAgreement;
  /** With --inputs, the input file of this line (as `mpcc party --serve --json` names it). */
  input?: string;
  /** The public architecture's digest of the model run (OUT/manifest.json's `architecture`),
   * so a report can tell which compiled model a run belongs to. */
  architecture: string;
}

/** Runs the three parties; returns the summary, P0's outputs and the reports. Progress lines
 * (the party processes' own, relayed) go to `sink` (none by default). */
export async function runSecure(out: string, options: RunOptions, sink: ProgressSink = NO_PROGRESS): Promise<{ summary: RunSummary; outputs: Record<string, number[]>; reports: PartyReport[]; setupSeconds: number; check?: PlaintextCheck }> {
  const log = commandProgress(options, sink);
  const transport = options.transport ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'inproc') throw diag('MPCC0004', ['--transport', transport, 'expected tcp or inproc']);
  const manifest = readManifest(out);
  refusePartyFolder(out, manifest);
  if (options.input === undefined) throw diag('MPCC0004', ['--input', '', 'give the input X.npy (or several with --inputs)']);
  // where the output goes, before any party starts (not over the input, nor inside OUT)
  if (options.output !== undefined) checkOutputPath(options.output, false, [out, options.input]);
  const flags = imageFlagsFrom(options as RunOptions & Record<string, unknown>);
  const x = readClientInput(options.input, manifest, flags); // checked before any party starts
  // in three processes P0's own process says it
  const note = transport === 'inproc' ? recordedInputNote(options.input, manifest, flags) : undefined;
  if (note) log(note);
  // the model to check against is the one OUT was compiled from (its sha256 in the manifest), said
  // before the inference rather than as a difference after it
  if (options.verifyAgainstPlaintext !== undefined && typeof manifest.modelHash === 'string') {
    const actual = modelFileSha256(options.verifyAgainstPlaintext);
    if (actual !== manifest.modelHash) throw diag('MPCC0004', ['--verify-against-plaintext', options.verifyAgainstPlaintext, `it is not the model '${out}' was compiled from (its sha256 ${actual.slice(0, 12)}…, the compile's ${manifest.modelHash.slice(0, 12)}…, ${join(out, 'manifest.json')})`]);
  }
  const expected = options.expected === undefined ? undefined : readNpy(options.expected);
  const misfit = () => diag('MPCC0004', ['--expected', options.expected!, `shape [${expected!.shape.join(',')}] does not fit the output '${manifest.outputs[0].name}' [${manifest.outputs[0].shape.join(',')}]`]);
  if (expected && !outputAgreement(new Float64Array(manifest.outputs[0].shape.reduce((a, b) => a * b, 1)), expected.data, expected.shape)) throw misfit();
  const roundTimeout = parseRoundTimeout(options.roundTimeout);
  // Every party's folder is checked here first, so a missing or corrupt file is reported
  // as such rather than as the other parties' connect timeout.
  const threads = transport === 'tcp' ? localPartyThreads(await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)))) : '1';
  log(`running the three parties (${transport === 'inproc' ? 'one process' : 'three processes over loopback TCP'})`);
  const reports = transport === 'inproc' ? await inProcess(out, x, options.roundTimeout === undefined ? 0 : roundTimeout, log) : (await processes(out, (id) => (id === 0 ? ['--input', options.input!, ...imageFlagArgs(options as RunOptions & Record<string, unknown>)] : []), options.roundTimeout, threads, log)).map((lines) => lines[lines.length - 1]);
  const { summary, outputs } = summarize(reports, options.output ?? null, manifest.architecture);
  if (options.output) {
    const o = manifest.outputs[0];
    writeFileAtomic(options.output, encodeNpy(o.shape, outputs[o.name]));
  }
  if (expected) {
    const agreement = outputAgreement(outputs[manifest.outputs[0].name], expected.data, expected.shape);
    if (!agreement) throw misfit();
    summary.agreement = agreement;
  }
  const check = options.verifyAgainstPlaintext === undefined ? undefined : checkAgainstPlaintext(out, options.verifyAgainstPlaintext, x, manifest.frac, manifest.input.shape, outputs, log);
  return { summary, outputs, reports, setupSeconds: Math.max(...reports.map((r) => r.setupSeconds)), check };
}

/** The three parties' reports of one inference as the --json object, and P0's outputs. */
export function summarize(reports: readonly PartyReport[], output: string | null, architecture: string): { summary: RunSummary; outputs: Record<string, number[]> } {
  const p0 = reports[0];
  const bytes = { total: 0, online: 0, preprocessing: 0, oneTime: 0, perParty: [0, 0, 0] as [number, number, number] };
  for (const r of reports) {
    bytes.online += r.sent.online;
    bytes.preprocessing += r.sent.preprocessing;
    bytes.oneTime += r.sent.oneTime;
    bytes.perParty[r.party] = r.sent.online + r.sent.preprocessing;
  }
  bytes.total = bytes.online + bytes.preprocessing;
  const slowest = (f: (r: PartyReport) => number) => Math.max(...reports.map(f));
  const perParty = (f: (r: PartyReport) => number) => {
    const v: [number, number, number] = [0, 0, 0];
    for (const r of reports) v[r.party] = f(r);
    return v;
  };
  const summary: RunSummary = {
    wallSeconds: slowest((r) => r.seconds),
    rounds: p0.rounds,
    online: { seconds: slowest((r) => r.onlineSeconds), rounds: p0.rounds, bytes: bytes.online, cpuSeconds: perParty((r) => r.onlineCpuSeconds) },
    offline: { seconds: slowest((r) => r.offlineSeconds), rounds: p0.offlineRounds, bytes: bytes.preprocessing, cpuSeconds: perParty((r) => r.offlineCpuSeconds) },
    bytes,
    output,
    architecture,
  };
  return { summary, outputs: p0.outputs ?? {} };
}

/** MPCC0004 when `out` is one party's folder (its manifest names the party): `mpcc run` runs all
 * three parties from OUT. */
function refusePartyFolder(out: string, manifest: object): void {
  const { party } = manifest as { party?: unknown };
  if (typeof party === 'number') throw diag('MPCC0004', ['OUT', out, `it is party ${party}'s folder: mpcc run runs the three parties from OUT, the folder mpcc compile -o wrote (a party's own folder is for mpcc party --id ${party})`]);
}

/** `--inputs`: the three parties as processes, P1 and P2 serving one client (P0) that runs
 * every input over one connection; per input its summary and outputs (the one-time setup,
 * bytes and seconds, in the first only). */
export async function runSecureInputs(out: string, options: RunOptions, sink: ProgressSink = NO_PROGRESS, onOutputs?: (index: number, outputs: Record<string, number[]>) => void): Promise<{ summary: RunSummary; outputs: Record<string, number[]>; setupSeconds: number }[]> {
  const log = commandProgress(options, sink);
  const inputs = options.inputs ?? [];
  if (inputs.length === 0) throw diag('MPCC0004', ['--inputs', '', 'give at least one input']);
  if (options.input !== undefined || options.output !== undefined) throw diag('MPCC0004', [options.input !== undefined ? '--input' : '--output', options.input ?? options.output, 'not with --inputs']);
  // the checks of one input's run: not run per input here, so refused rather than skipped
  if (options.expected !== undefined) throw diag('MPCC0004', ['--expected', options.expected, 'not with --inputs (one expected output for one --input)']);
  if (options.verifyAgainstPlaintext !== undefined) throw diag('MPCC0004', ['--verify-against-plaintext', options.verifyAgainstPlaintext, 'not with --inputs (run each input with --input to check it)']);
  if ((options.transport ?? 'tcp') !== 'tcp') throw diag('MPCC0004', ['--transport', options.transport, '--inputs runs three processes (tcp)']);
  const manifest = readManifest(out);
  refusePartyFolder(out, manifest);
  for (const f of inputs) readClientInput(f, manifest, imageFlagsFrom(options as RunOptions & Record<string, unknown>)); // checked before any party starts
  parseRoundTimeout(options.roundTimeout);
  const threads = localPartyThreads(await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id))));
  log(`running the three parties (three processes over loopback TCP, one server session for ${inputs.length} input${inputs.length === 1 ? '' : 's'})`);
  const n = String(inputs.length);
  // With `onOutputs`, each input's outputs go there as its inference ends and are not kept.
  let seen = 0;
  const clientLine = onOutputs && ((r: PartyReport) => {
    onOutputs(seen++, r.outputs ?? {});
    return { ...r, outputs: {} };
  });
  const lines = await processes(out, (id) => ['--serve', ...(id === 0 ? [...inputs.flatMap((f) => ['--input', f]), ...imageFlagArgs(options as RunOptions & Record<string, unknown>)] : ['--max-inferences', n])], options.roundTimeout, threads, log, clientLine);
  return inputs.map((_, i) => {
    const reports = lines.map((l) => l[i]);
    return { ...summarize(reports, null, manifest.architecture), setupSeconds: Math.max(...reports.map((r) => r.setupSeconds)) };
  });
}

// In one process, a stalled party is a deadlock the in-process transport detects
// (MPCC5013), and the three parties' compute shares one thread: no round timeout unless
// --round-timeout asks for one.
async function inProcess(out: string, x: Float32Array, roundTimeoutMs: number | 'schedule', log: ProgressSink): Promise<PartyReport[]> {
  const arts = await Promise.all(([0, 1, 2] as const).map((id) => loadPartyArtifacts(out, id)));
  const ss = await createInProcessSessions({ tag: sessionTag(arts[0].manifest), roundTimeoutMs });
  return await runParties(ss, async (s) => {
    const r = await runProgram(s, arts[s.id].program, { input: s.id === 0 ? x : null, weights: arts[s.id].weights, kernels: arts[s.id].kernels, onProgress: partyProgress(s.id, log) });
    return partyReport(r);
  });
}

/** Three `mpcc party` processes over loopback TCP, `extra(id)` added to each one's flags;
 * per party the reports it printed on stdout (JSON lines). The first failure is the error. */
async function processes(out: string, extra: (id: number) => string[], roundTimeout: string | undefined, threads: string, log: ProgressSink, clientLine?: (report: PartyReport) => PartyReport): Promise<PartyReport[][]> {
  const cli = fileURLToPath(new URL('../party-cli.js', import.meta.url));
  const peers = (await freeLocalAddresses()).join(',');
  // Fresh party keys, pinned by each party: the loopback links are authenticated too.
  const keyDir = mkdtempSync(join(tmpdir(), 'mpcc-run-keys-'));
  const removeKeys = () => rmSync(keyDir, { recursive: true, force: true });
  const release = cleanupOnSignal(removeKeys);
  try {
    for (const id of [0, 1, 2] as const) writeKeyPair(keyDir, id);
    return await partyProcesses(cli, out, extra, peers, keyDir, roundTimeout, threads, log, clientLine);
  } finally {
    release();
    removeKeys();
  }
}

/** MPCC_THREADS of the three local party processes, from their programs. In the classic mode
 * the three parties keep this machine's cores busy and a kernel worker thread per party measured
 * slower (runtime/kernels/kernel-threads.ts), so they run without one. In the client-offline mode
 * (program.ts isClientOffline) the online phase has one party computing at a time, mostly P1's
 * products while P0 and P2 wait, and the worker finds the idle core: with it resnet50's and
 * resnet18-cifar's knapsack plans (Z_2^48) ran 10–12% faster online, programs on Z_2^32 (gemmRing32,
 * fast enough alone) and the offline phase about the same
 * (BENCHMARKS.md, "A kernel worker in the client-offline mode"). `mpcc party` on a machine of its
 * own keeps the worker either way. */
export function localPartyThreads(arts: readonly { program: Parameters<typeof isClientOffline>[0] }[]): string {
  return arts.some((a) => isClientOffline(a.program)) ? '2' : '1';
}

/** Node flags of the three local party processes (sharing this machine's cores). */
export const PARTY_NODE_FLAGS: readonly string[] = ['--single-threaded-gc'];

async function partyProcesses(cli: string, out: string, extra: (id: number) => string[], peers: string, keyDir: string, roundTimeout: string | undefined, threads: string, log: ProgressSink, clientLine?: (report: PartyReport) => PartyReport): Promise<PartyReport[][]> {
  const runs = [0, 1, 2].map((id) => {
    const keys = ['--key', join(keyDir, keyFileNames(id as 0 | 1 | 2).key), '--peer-keys', keyDir];
    const args = [out, '--id', String(id), '--peers', peers, ...keys, ...extra(id)];
    if (id !== 0 || !clientLine) return partyProcess(cli, id, args, roundTimeout, threads, log);
    // The client's reports one by one, as its inferences end: each kept as `clientLine` makes it
    // (its outputs dropped once used), so many large outputs never gather here.
    const kept: PartyReport[] = [];
    return spawnParty(cli, id, args, roundTimeout, threads, log, { onLine: (line) => kept.push(clientLine(line as PartyReport)) }).done.then(() => kept);
  });
  const settled = await Promise.allSettled(runs);
  // The root cause first: a party that failed on its own, not one that saw a peer abort.
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as Error] : []));
  if (failures.length) throw failures.find((e) => !/MPCC50(01|02|06|11|12)/.test(`${(e as MpccError).code ?? ''}`)) ?? failures[0];
  return settled.map((s) => (s as PromiseFulfilledResult<PartyReport[]>).value);
}

/** One `mpcc party` process (party `id`, `args` after `party`, --json added): the reports it
 * printed on stdout (JSON lines), its stderr's progress lines relayed to `log` (--progress) and
 * its coded error, if it fails, as an MpccError naming the party. */
function partyProcess(cli: string, id: number, args: string[], roundTimeout: string | undefined, threads: string | undefined, log: ProgressSink): Promise<PartyReport[]> {
  return spawnParty(cli, id, args, roundTimeout, threads, log).done;
}

/** A spawned `mpcc party` process: the child (its stdin a pipe with `stdin`), and when it exits
 * the reports it printed, or its coded error as an MpccError naming the party. */
export interface PartyChild {
  readonly child: ChildProcess;
  readonly done: Promise<PartyReport[]>;
}

/** Spawns `mpcc party` as partyProcess does. With `onLine`, each JSON line of its stdout goes
 * there as it comes and none is kept (`done` then resolves to none): a client streaming many
 * inputs (run-stream.ts). */
export function spawnParty(cli: string, id: number, args: string[], roundTimeout: string | undefined, threads: string | undefined, log: ProgressSink, stream: { onLine?: (value: unknown) => void; stdin?: boolean } = {}): PartyChild {
  // --progress: the party's stderr is a pipe, and its lines are relayed to `log`.
  const argv = [cli, 'party', ...args, '--json', ...(log === NO_PROGRESS ? ['--quiet'] : ['--progress']), ...(roundTimeout === undefined ? [] : ['--round-timeout', roundTimeout])];
  // The kernel worker thread per party: localPartyThreads; MPCC_THREADS overrides it (a lone
  // client, `threads` undefined: the party's own default).
  const env = threads === undefined ? process.env : { ...process.env, MPCC_THREADS: process.env.MPCC_THREADS ?? threads };
  // For the same reason V8 collects garbage on the party's own thread: its parallel and
  // concurrent GC helpers only contend with the other two parties for the cores (measured
  // on resnet50@4x4: the three parties' online CPU time 20% lower, BENCHMARKS.md).
  // The IPC channel carries nothing: a serving party stops when it closes, so the servers a
  // command starts end with it even when it is killed (party.ts serveCommand).
  const child = spawn(process.execPath, [...PARTY_NODE_FLAGS, ...argv], { stdio: [stream.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'ipc'], env });
  child.channel?.unref();
  // a SIGINT or SIGTERM of this command stops the party at once (cli-support.ts)
  const release = cleanupOnSignal(() => child.kill('SIGKILL'));
  child.on('close', release);
  const done = new Promise<PartyReport[]>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let bad: Error | undefined;
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!stream.onLine) return;
      const lines = stdout.split('\n');
      stdout = lines.pop()!;
      for (const line of lines) {
        if (line.trim() === '' || bad) continue;
        try {
          stream.onLine(JSON.parse(line));
        } catch (e) {
          bad = e as Error; // the caller's error (or a line that is no JSON) ends the party
          child.kill('SIGTERM');
        }
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const line of d.toString().split('\n')) if (line && !/ error /.test(line)) log(line.replace(/^mpcc: /, ''));
    });
    // a client fed on stdin that exits early: its closed pipe is its exit's business
    child.stdin?.on('error', () => undefined);
    child.on('error', (e) => reject(e));
    child.on('close', (code) => {
      if (bad) return reject(bad);
      if (code === 0) {
        if (stream.onLine) return resolve([]);
        try {
          // A serving party's last line is its ServeSummary, not a report.
          resolve(stdout.trim().split('\n').map((l) => JSON.parse(l) as PartyReport).filter((r) => r.party !== undefined));
        } catch {
          reject(diag('MPCC6044', [`party ${id} exited 0 but its reports on stdout are cut off or malformed`]));
        }
        return;
      }
      const line = stderr.split('\n').reverse().find((l) => /error MPCC\d+/.test(l));
      const m = line && /error (MPCC\d+): (.*)$/.exec(line);
      reject(m ? new MpccError(m[1] as DiagnosticCode, `party ${id}: ${m[2]}`) : diag('MPCC6044', [`party ${id} exited with code ${code}: ${stderr.trim().split('\n').pop() ?? ''}`]));
    });
  });
  return { child, done };
}

/** How a client reaches a deployment's serving parties: their addresses (`--peers`, P0's first)
 * and the client's key and the others' public keys, or --insecure (as `mpcc party` takes them). */
export interface Deployment {
  readonly peers: string;
  readonly key?: string;
  readonly peerKeys?: string;
  readonly insecure?: boolean;
}

/** The text `mpcc run` prints without --json. */
export function describeRun(s: RunSummary, outputs: Record<string, number[]>, setupSeconds: number, print: OutputPrinting = {}, top?: readonly string[]): string {
  const lines: string[] = [];
  // the output's lines, or `top`: those lines made beforehand
  if (!s.output) lines.push(...(top ?? outputLines(outputs, print)));
  const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
  lines.push(`online ${s.online.seconds.toFixed(3)} s, ${s.online.rounds} rounds (input given → output revealed); offline ${s.offline.seconds.toFixed(3)} s, ${s.offline.rounds} round${s.offline.rounds === 1 ? '' : 's'} (before the input)`);
  lines.push(`wall time ${s.wallSeconds.toFixed(3)} s per inference, offline + online (one-time setup ${setupSeconds.toFixed(3)} s)`);
  lines.push(`bytes sent: ${mb(s.bytes.total)} per inference (online ${mb(s.bytes.online)}, preprocessing ${mb(s.bytes.preprocessing)}), one-time ${mb(s.bytes.oneTime)}`);
  lines.push(`per party: ${s.bytes.perParty.map((b, i) => `P${i} ${mb(b)}`).join(', ')}`);
  if (s.output) lines.push(`output written to ${s.output}`);
  if (s.agreement) lines.push(describeAgreement(s.agreement));
  return lines.join('\n') + '\n';
}

/** Adds `mpcc run` to the program. */
export function registerRun(program: Command): void {
  withProgressFlags(
    withImageFlags(program
      .command('run')
      .description('run a compiled model with all three parties on this machine')
      .argument('<out>', 'folder written by mpcc compile')
      .option('--input <file>', 'the input: .npy (float32), or a PNG/JPEG image preprocessed by --preset/--resize/--crop/--mean/--std')
      .option('--inputs <files...>', 'several inputs, one inference each, in one server session (three processes; no -o)')
      .addOption(outputOption('write the first output as .npy'))
      .addOption(jsonOption('{wallSeconds, rounds, online, offline, bytes, output, architecture, and outputs (the values) unless -o wrote them}'))
      .option('--transport <kind>', 'tcp (three processes over loopback, default) or inproc (one process)')
      .addOption(roundTimeoutOption())
      .option('--verify-against-plaintext <model>', 'the model OUT was compiled from: compare the output with the plaintext network and report, per comparison, the sign-error rate of its bit window on this input beside the prediction; exit code 1 when the output differs from the network\'s by more than 10% of its range')
      .option('--expected <file>', 'a plaintext run\'s output (.npy) to compare with: top-1, pixel agreement, max error (in --json: agreement); exit code 1 when the top-1 class differs')
      .option('--classes <file>', 'class names to print, one per line (or JSON); default: the names mpcc compile --classes recorded'))
  ).action(
    action(async (out: string, options: RunOptions) => {
      const print = outputPrinting(readManifest(out), options.classes); // a bad --classes fails before the parties start
      if (options.inputs !== undefined) {
        // each input's top classes made as its output comes (the outputs themselves not kept)
        // (with --json, each input's values on its line)
        const tops: string[][] = [];
        const values: Record<string, number[]>[] = [];
        const runs = await runSecureInputs(out, options, stderrProgress(options), (i, outputs) => (options.json ? (values[i] = outputs) : (tops[i] = outputLines(outputs, print))));
        runs.forEach((r, i) => process.stdout.write(options.json ? JSON.stringify({ input: options.inputs![i], ...r.summary, outputs: values[i] }) + '\n' : `${options.inputs![i]}:\n${describeRun(r.summary, {}, r.setupSeconds, print, tops[i])}`));
        return;
      }
      const { summary, outputs, setupSeconds, check } = await runSecure(out, options, stderrProgress(options));
      const line = { ...summary, ...(summary.output === null ? { outputs } : {}), ...(check ? { plaintext: check } : {}) };
      process.stdout.write(options.json ? JSON.stringify(line) + '\n' : describeRun(summary, outputs, setupSeconds, print) + (check ? describeCheck(check) : ''));
      // a failed check is the command's failure (scripts see it), its report printed all the same
      if (check && !check.agrees) {
        process.stderr.write(`mpcc: warning: --verify-against-plaintext: the secure output differs from the network's by ${(100 * check.relativeDiffSimulated).toPrecision(2)}% of its range (exit code 1)\n`);
        process.exitCode = 1;
      }
      // and so is an --expected output whose top class the run does not give
      if (summary.agreement?.top1Equal === false) {
        process.stderr.write(`mpcc: warning: --expected: the top-1 class differs from ${options.expected}'s (exit code 1)\n`);
        process.exitCode = 1;
      }
    }),
  );
}
