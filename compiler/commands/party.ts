// `mpcc party OUT --id 0|1|2 --peers H:P,H:P,H:P [--key K --peer-keys DIR | --insecure]
// [--input X.npy] [-o Y.npy] [--round-timeout MS]`: this process is one party of a deployment (each on its own
// machine): it loads only its own folder (OUT/partyN or a copy of it; given OUT, only OUT/partyN), connects to the other two over TCP (the
// session tag carries the artifact format, mpcc version and public architecture digest, so mismatched parties
// refuse each other), runs its program and, as P0, writes or prints the output. Progress on
// stderr. With --key (its partyN.key from `mpcc keygen`) and --peer-keys (a folder holding the
// other two parties' partyM.pub) every link is authenticated and encrypted (Noise_KK,
// runtime/transport/noise.ts). Without keys the links are plain TCP: allowed only when every
// address is loopback, or with --insecure (a warning on stderr).
//
// With --serve (runtime/transport/serving.ts) P1 and P2 stay up and serve clients one after
// another (--max-inferences N: exit 0 after N inferences; SIGTERM: abort the current inference,
// close, exit 0), and P0 is their client: it dials both and runs one inference per --input
// (`--input a.npy --input b.npy`, one -o per input or none), over one connection, paying the
// one-time setup once. With `--input -` the client reads input paths from stdin, one per line,
// as they come, writes each output to `-o DIR/<input name>.out.npy` (or prints it), and
// prepares each next inference (handshake, setup, offline phase, with the servers) while it
// waits for the next line, so a line costs only the online phase; end of stdin ends the
// connection (the servers log a departure). The servers pre-deal each client's first inference
// while no client is connected (the helper's offline work done before the client comes;
// --no-predeal turns it off); a server's --json report says per inference whether it was
// pre-dealt and, at the helper, how long the pre-dealing took.
import type { Command } from 'commander';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { type ProgressFlags, type ProgressSink, NO_PROGRESS, action, checkOutputPath, commandProgress, exitAfterOutput, stderrProgress, writeFileAtomic } from '../cli-support.js';
import { diag } from '../../runtime/diagnostics.js';
import { connectTcpSession, loadIdentity, type PartyIdentity } from '../../runtime/session/connect.js';
import { keyFingerprint, privateKeyModeWarning } from '../../runtime/session/identity.js';
import { ServingParty, type ServeSummary } from '../../runtime/transport/serving.js';
import { NoMoreInput, runAsClient, type PreparedInference } from '../../runtime/transport/serving-client.js';
import type { PartySession } from '../../runtime/session/party-session.js';
import { runtimeError } from '../../runtime/diagnostics.js';
import { parseHostPort } from '../../runtime/transport/tcp.js';
import { clientRunner, loadPartyArtifacts, partyFolder, readManifest, runProgram, serverRunner, sessionTag } from '../../runtime/program/index.js';
import type { PartyId } from '../../runtime/session/session.js';
import { encodeNpy } from '../npy.js';
import { type OutputPrinting, outputLines, outputPrinting, partyProgress, partyReport, readClientInput, recordedInputNote, type PartyReport } from './secure-support.js';
import { imageFlagsFrom, withImageFlags } from './calib-flags.js';
import { jsonOption, outputOption, parseRoundTimeout, roundTimeoutOption, withProgressFlags } from './flags.js';

/** Options of the party command. */
export interface PartyOptions extends ProgressFlags {
  readonly id: string;
  /** P0: class names to print (compiler/class-names.ts); default: the compile's. */
  readonly classes?: string;
  readonly peers: string;
  /** P0: the input (several with --serve: one inference each). */
  readonly input?: string | readonly string[];
  /** P0: where to write the output (one per input, or none). */
  readonly output?: string | readonly string[];
  /** P1, P2: serve clients until stopped; P0: be the client of serving parties. */
  readonly serve?: boolean;
  /** P1, P2 with --serve: exit 0 after this many inferences. */
  readonly maxInferences?: string;
  readonly json?: boolean;
  /** Give up connecting after this many ms (default 10000). */
  readonly connectTimeout?: string;
  /** This party's private key file (partyN.key from mpcc keygen). */
  readonly key?: string;
  /** Folder of the other parties' public keys (partyM.pub). */
  readonly peerKeys?: string;
  /** Run without keys on a non-loopback network. */
  readonly insecure?: boolean;
  /** Round timeout in ms (default: from each round's bytes, runtime/session/round-timeout.ts). */
  readonly roundTimeout?: string;
  /** P1, P2 with --serve: pre-deal each client's first inference while no client is there
   * (default true; `--no-predeal` sets false). */
  readonly predeal?: boolean;
}

/** Marks `--input -`: input paths from stdin, one per line. */
export const STDIN_INPUT = '-';

/** True for an address on this machine's loopback interface. */
function isLoopback(address: string): boolean {
  const { host } = parseHostPort(address);
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\./i.test(host);
}

/** The party's identity from --key/--peer-keys, or null for plain links (checked: loopback
 * only, unless --insecure, which warns on stderr). */
export function partyIdentity(id: PartyId, peers: readonly string[], options: PartyOptions, warn: (line: string) => void, log: ProgressSink = NO_PROGRESS): PartyIdentity | null {
  if (options.key !== undefined || options.peerKeys !== undefined) {
    if (options.key === undefined) throw diag('MPCC0004', ['--key', '', '--peer-keys needs this party\'s private key (--key DIR/partyN.key)']);
    if (options.peerKeys === undefined) throw diag('MPCC0004', ['--peer-keys', '', '--key needs the folder of the other parties\' public keys (partyM.pub)']);
    if (options.insecure) throw diag('MPCC0004', ['--insecure', '', 'not with --key: the links are authenticated']);
    const identity = loadIdentity(id, options.key, options.peerKeys);
    const mode = privateKeyModeWarning(options.key);
    if (mode) warn(mode);
    // what the operators compared when they exchanged the .pub files (mpcc keygen --show)
    const pinned = ([0, 1, 2] as PartyId[]).filter((p) => p !== id).map((p) => `party ${p} ${keyFingerprint(identity.peers[p]!)}`);
    // on stderr unless --quiet, as a server's log is: what an operator checks at start
    const line = `party ${id}: key fingerprint ${keyFingerprint(identity.own.publicRaw)}; pins ${pinned.join(', ')} (${options.peerKeys})`;
    if (log !== NO_PROGRESS) log(line);
    else if (!options.quiet) warn(`mpcc: ${line}`);
    return identity;
  }
  const remote = peers.find((p) => !isLoopback(p));
  if (remote !== undefined && !options.insecure) throw runtimeError('MPCC5020', [remote]);
  if (options.insecure) warn('mpcc: warning: --insecure: the links to the other parties are neither encrypted nor authenticated; anyone on the network can read or change them');
  return null;
}

/** A repeatable flag's values. */
function listOf(v: string | readonly string[] | undefined): string[] {
  return v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
}

/** The flags every party checks first: id, peers, inputs and outputs, timeouts. */
function checkPartyFlags(options: PartyOptions) {
  const id = Number(options.id);
  if (id !== 0 && id !== 1 && id !== 2) throw diag('MPCC0004', ['--id', options.id, 'expected 0, 1 or 2']);
  const peers = (options.peers ?? '').split(',');
  if (peers.length !== 3 || peers.some((p) => !/^.+:\d+$/.test(p))) throw diag('MPCC0004', ['--peers', options.peers, 'expected HOST:PORT,HOST:PORT,HOST:PORT (parties 0, 1, 2)']);
  const inputs = listOf(options.input);
  const outputs = listOf(options.output);
  if (id !== 0 && inputs.length > 0) throw diag('MPCC0004', ['--input', inputs[0], 'only party 0 (the client) takes the input']);
  if (id === 0 && inputs.length === 0) throw diag('MPCC0004', ['--input', '', 'party 0 needs the input X.npy']);
  if (inputs.length > 1 && !options.serve) throw diag('MPCC0004', ['--input', inputs[1], 'several inputs need --serve (the server and helper stay up for them)']);
  const stdin = inputs.includes(STDIN_INPUT);
  if (stdin && !options.serve) throw diag('MPCC0004', ['--input', STDIN_INPUT, 'input paths from stdin need --serve (the server and helper stay up for them)']);
  if (stdin && inputs.length > 1) throw diag('MPCC0004', ['--input', inputs.join(','), `'${STDIN_INPUT}' (paths from stdin) comes alone`]);
  if (stdin && outputs.length > 1) throw diag('MPCC0004', ['--output', outputs.join(','), `with --input ${STDIN_INPUT}, give one folder (-o DIR: DIR/<input name>.out.npy per input) or none`]);
  if (!stdin && outputs.length > 0 && outputs.length !== inputs.length) throw diag('MPCC0004', ['--output', outputs.join(','), `give one -o per --input (${inputs.length}), or none`]);
  if (options.maxInferences !== undefined && (!options.serve || id === 0)) throw diag('MPCC0004', ['--max-inferences', options.maxInferences, 'only for party 1 or 2 with --serve']);
  if (options.predeal === false && (!options.serve || id === 0)) throw diag('MPCC0004', ['--no-predeal', '', 'only for party 1 or 2 with --serve (the helper pre-deals the next inference while no client is there)']);
  const maxInferences = options.maxInferences === undefined ? undefined : Number(options.maxInferences);
  if (maxInferences !== undefined && !(Number.isInteger(maxInferences) && maxInferences >= 1)) throw diag('MPCC0004', ['--max-inferences', options.maxInferences, 'expected a positive integer']);
  const timeoutMs = options.connectTimeout === undefined ? 10000 : Number(options.connectTimeout);
  if (!(Number.isInteger(timeoutMs) && timeoutMs >= 1)) throw diag('MPCC0004', ['--connect-timeout', options.connectTimeout, 'expected a positive whole number of milliseconds']);
  // where the outputs go, checked before connecting (a folder with --input -, else files)
  for (const o of outputs) checkOutputPath(o, stdin);
  const twice = outputs.find((o, i) => outputs.indexOf(o) !== i);
  if (twice !== undefined) throw diag('MPCC0004', ['--output', twice, 'given twice: each input needs its own output file']);
  const roundTimeoutMs = parseRoundTimeout(options.roundTimeout);
  // the client's image flags (a PNG/JPEG input), checked before connecting
  const imageFlags = imageFlagsFrom(options as PartyOptions & Record<string, unknown>);
  return { id: id as PartyId, peers: peers as [string, string, string], inputs, outputs, maxInferences, timeoutMs, roundTimeoutMs, imageFlags };
}

/** What `mpcc party --serve` did: this party's reports (one per inference), and a server's summary. */
export interface ServeResult {
  reports: ServedReport[];
  summary?: ServeSummary;
}

/** A report of one inference as `mpcc party --serve --json` prints it; a server's also says
 * whether the inference ran on a pre-dealt bundle and, at the helper, how long the pre-dealing
 * took (before the client came: outside the inference's seconds). */
export type ServedReport = PartyReport & { predealt?: boolean; predealSeconds?: number | null };

/** One input of a client fed on stdin (`--input -`), as `--json` prints it: the client's report
 * of its inference (seconds, rounds, bytes sent), and `outputs` (the first output's values) only
 * when no file took them: a written output stays out of the line, so a line is small whatever the
 * output's size. */
export type ServedInput = PartyReport & {
  input: string;
  /** Where its output was written (-o DIR), or null (printed). */
  output: string | null;
  /** Line read → output written: what the user waits for (wall seconds). */
  latencySeconds: number;
  /** Whether the offline phase was done before the line was read. */
  preparedBeforeInput: boolean;
};

/** What the caller of serveParty may give: the server's stop, a client's stdin and signal. */
export interface ServeHooks {
  /** P1, P2: receives the function that stops the server (e.g. on SIGTERM). */
  onServer?: (stop: (reason: string) => void) => void;
  /** P0 with `--input -`: where the input paths come from (default process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** P0 with `--input -`: each input as soon as its output is written. */
  onInput?: (served: ServedInput) => void;
  /** P0: a stop request (SIGTERM): MPCC5051, the servers told, nothing written. */
  signal?: AbortSignal;
  /** Each inference's report as it ends: P0 with its inputs given (--input A --input B), whose
   * reports are then kept without their outputs (not gathered to the end), and P1, P2. */
  onReport?: (index: number, report: PartyReport) => void;
}

/** Input paths from a stream, one per line (blank lines skipped), each with the time it came. */
class InputLines {
  private readonly lines: { path: string; at: number }[] = [];
  private readonly waiters: ((l: { path: string; at: number } | null) => void)[] = [];
  private ended = false;
  private readonly reader;

  constructor(stream: NodeJS.ReadableStream) {
    this.reader = createInterface({ input: stream, crlfDelay: Infinity });
    this.reader.on('line', (line: string) => {
      const path = line.trim();
      if (path === '') return;
      const l = { path, at: performance.now() };
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
    this.reader.on('close', () => {
      this.ended = true;
      for (const w of this.waiters.splice(0)) w(null);
    });
  }

  /** The next path, or null at the end of the stream. */
  next(): Promise<{ path: string; at: number } | null> {
    const l = this.lines.shift();
    if (l) return Promise.resolve(l);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Whether the stream ends, within `graceMs`, with no line left unread. */
  async drained(graceMs: number): Promise<boolean> {
    if (!this.ended) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.reader.once('close', () => resolve())),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    return this.ended && this.lines.length === 0;
  }

  close(): void {
    this.reader.close();
  }
}

/** How long a stdin-fed client whose server stops between inferences waits for the end of its
 * stdin before the stop is its error (runAsClient's inputEnded). */
const INPUT_END_GRACE_MS = 1000;

/** Where a stdin-fed input's output goes: DIR/<input name without .npy>.out.npy. */
export function servedOutputPath(dir: string, input: string): string {
  return join(dir, `${basename(input).replace(/\.npy$/i, '')}.out.npy`);
}

/** Runs one party with --serve: P1/P2 serve until stopped (`stop` receives the function
 * that stops them, e.g. on SIGTERM); P0 runs its inputs as one client. */
export async function serveParty(out: string, options: PartyOptions, sink: ProgressSink = NO_PROGRESS, events: ProgressSink = NO_PROGRESS, hooks: ServeHooks = {}): Promise<ServeResult> {
  const log = commandProgress(options, sink);
  const { id, peers, inputs, outputs, maxInferences, timeoutMs, roundTimeoutMs, imageFlags } = checkPartyFlags({ ...options, serve: true });
  // the folder first: a wrong --id is said as such, before any key of that id is looked for
  const arts = await loadPartyArtifacts(out, id);
  const identity = partyIdentity(id, peers, options, (line) => process.stderr.write(line + '\n'), log) ?? undefined;
  const tag = sessionTag(arts.manifest);
  const common = { peers, tag, identity, timeoutMs, roundTimeoutMs };
  if (id === 0 && inputs[0] === STDIN_INPUT) {
    const lines = new InputLines(hooks.stdin ?? process.stdin);
    const infer = clientRunner(arts, partyProgress(0, log));
    const o = arts.manifest.outputs[0];
    log(`party 0: connecting to the server ${peers[1]} and the helper ${peers[2]}; input paths from stdin, one per line`);
    // Inputs read and inferences done: a server that stops while the client waits for a line
    // that never comes (the end of stdin) ends the client as that end would.
    let taken = 0;
    let done = 0;
    // the outputs written so far and their inputs: two inputs of one name would share a file
    const written = new Map<string, string>();
    const inputEnded = async () => (await lines.drained(INPUT_END_GRACE_MS)) && taken === done;
    try {
      const reports = await runAsClient({ ...common, inferences: 'open', signal: hooks.signal, inputEnded }, async (session: PartySession, index: number, prepared: PreparedInference) => {
        const line = lines.next().then((l) => {
          if (l) taken++;
          return l;
        });
        let preparedAt = Infinity;
        // The input is read and checked once its line comes; only then are the servers told
        // 'go' (a bad file ends this client before any online round).
        const given = prepared.awaitInput(
          line.then((l) => {
            if (!l) throw new NoMoreInput();
            const target = outputs.length > 0 ? servedOutputPath(outputs[0], l.path) : null;
            const earlier = target === null ? undefined : written.get(target);
            if (earlier !== undefined && earlier !== l.path) throw diag('MPCC0003', [target, `input '${l.path}' would overwrite the output of input '${earlier}' (both are named ${basename(target!)}): give the inputs different file names`]);
            return { ...l, target, x: readClientInput(l.path, arts.manifest, imageFlags) };
          }),
        );
        const x = given.then((g) => g.x);
        x.catch(() => undefined); // runProgram reads it after the offline phase
        const r = await infer(session, x, {
          signal: hooks.signal,
          beforeOnline: async () => {
            preparedAt = performance.now();
            events(`party 0: inference ${index + 1} prepared (offline phase done); waiting for its input`);
          },
        });
        const g = await given;
        const target = g.target;
        if (target) {
          writeFileAtomic(target, encodeNpy(o.shape, r.outputs.get(o.name)!));
          written.set(target, g.path);
        }
        // The connection's reports keep no outputs: a stream of inputs may be long and each
        // output large; each is written or printed as it comes.
        const report = partyReport(r, target === null);
        const served: ServedInput = { input: g.path, output: target, latencySeconds: (performance.now() - g.at) / 1000, preparedBeforeInput: preparedAt <= g.at, ...report };
        hooks.onInput?.(served);
        done++;
        return { ...report, outputs: undefined };
      });
      return { reports };
    } finally {
      lines.close();
    }
  }
  if (id === 0) {
    const xs = inputs.map((f) => readClientInput(f, arts.manifest, imageFlags)); // all checked before connecting
    const infer = clientRunner(arts, partyProgress(0, log));
    log(`party 0: connecting to the server ${peers[1]} and the helper ${peers[2]}`);
    const reports = await runAsClient({ ...common, inferences: xs.length, signal: hooks.signal }, async (session, index) => {
      const r = await infer(session, xs[index], { signal: hooks.signal });
      const o = arts.manifest.outputs[0];
      const target = outputs[index];
      if (target !== undefined) writeFileAtomic(target, encodeNpy(o.shape, r.outputs.get(o.name)!));
      // as a stdin-fed client's lines: the input, where its output went, the values only if printed
      const report: PartyReport = { input: inputs[index], output: target ?? null, ...partyReport(r, target === undefined) };
      if (!hooks.onReport) return report;
      hooks.onReport(index, report);
      return { ...report, outputs: undefined };
    });
    return { reports };
  }
  const runner = serverRunner(arts, partyProgress(id, log));
  const reports: ServedReport[] = [];
  const predeal = options.predeal === false ? undefined : runner;
  const server = new ServingParty({ ...common, id, maxInferences, log: events, setupId: runner.setupId, predeal }, async (session, ctx) => {
    const r = await runner.run(session, ctx.index, ctx.reuseSetup, ctx.clientReady ?? undefined, ctx.predealt ?? undefined);
    const report: ServedReport = { ...partyReport(r), predealt: session.bundle !== null, predealSeconds: r.predealSeconds };
    reports.push(report);
    hooks.onReport?.(reports.length - 1, report);
  });
  hooks.onServer?.((reason) => server.stop(reason));
  return { summary: await server.serve(), reports };
}

/** Runs one party; returns its report (progress lines go to `sink`, none by default). */
export async function runParty(out: string, options: PartyOptions, sink: ProgressSink = NO_PROGRESS): Promise<PartyReport> {
  const log = commandProgress(options, sink);
  const { id, peers, inputs, outputs, timeoutMs, roundTimeoutMs, imageFlags } = checkPartyFlags(options);
  if (options.serve) throw diag('MPCC0004', ['--serve', '', 'use serveParty']);
  const arts = await loadPartyArtifacts(out, id as PartyId);
  const identity = partyIdentity(id as PartyId, peers, options, (line) => process.stderr.write(line + '\n'), log);
  const x = id === 0 ? readClientInput(inputs[0], arts.manifest, imageFlags) : null;
  const note = id === 0 ? recordedInputNote(inputs[0], arts.manifest, imageFlags) : undefined;
  if (note) log(`party 0: ${note}`);
  log(`party ${id}: connecting to ${peers.filter((_, i) => i !== id).join(', ')}`);
  const session = await connectTcpSession({ id: id as PartyId, peers: peers as [string, string, string], tag: sessionTag(arts.manifest), timeoutMs, roundTimeoutMs, identity: identity ?? undefined });
  // SIGTERM or SIGINT (e.g. during the offline phase): a coded error naming the phase, the
  // peers told, no output written (MPCC5051), instead of a silent kill.
  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => stop.abort(sig);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, onSignal);
  try {
    const r = await runProgram(session, arts.program, { input: x, weights: arts.weights, kernels: arts.kernels, onProgress: partyProgress(id, log), signal: stop.signal });
    await session.close();
    const report = partyReport(r);
    if (id === 0 && outputs.length > 0) {
      const o = arts.manifest.outputs[0];
      writeFileAtomic(outputs[0], encodeNpy(o.shape, r.outputs.get(o.name)!));
    }
    return report;
  } catch (e) {
    await session.abort(e instanceof Error ? e : new Error(String(e)));
    throw e;
  } finally {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.off(sig, onSignal);
  }
}

/** Adds `mpcc party` to the program. */
export function registerParty(program: Command): void {
  withProgressFlags(
    withImageFlags(program
      .command('party')
      .description('run one party of a compiled model over TCP (P0 client with the input, P1 server with the weights, P2 helper)')
      .argument('<out>', 'this party\'s folder (OUT/partyN, or a copy of it alone), or OUT written by mpcc compile (only OUT/partyN is read)')
      .requiredOption('--id <n>', 'this party: 0 (client), 1 (server), 2 (helper)')
      .requiredOption('--peers <list>', 'HOST:PORT of parties 0, 1 and 2 (this party listens on its own)')
      .option(
        '--input <file>',
        "party 0: the input (.npy, float32, or a PNG/JPEG image preprocessed by --preset/--resize/--crop/--mean/--std); repeat it with --serve for one inference per input over one connection; with --serve, '-' reads input paths from stdin, one per line as they come, each next inference prepared (offline phase done) while the line is awaited, end of stdin ends the connection",
        collect,
      )
      .addOption(outputOption('party 0: write the first output as .npy (one -o per --input); with --input -: a folder, DIR/<input name>.out.npy per input').argParser(collect))
      .option('--serve', 'party 1, 2: stay up and serve clients one after another (SIGTERM stops); party 0: be the client of serving parties')
      .option('--max-inferences <n>', 'party 1, 2 with --serve: exit 0 after serving this many inferences')
      .option('--no-predeal', 'party 1, 2 with --serve: do not pre-deal the next client\'s first inference while no client is connected (the helper then deals once the client is there)')
      .option('--key <file>', "this party's private key (partyN.key, written by mpcc keygen)")
      .option('--peer-keys <dir>', "folder with the other two parties' public keys (partyM.pub): only they are accepted")
      .option('--insecure', 'run without keys on a network that is not loopback (links neither encrypted nor authenticated)')
      .option('--connect-timeout <ms>', 'give up when a peer does not connect within this time (default 10000)')
      .addOption(roundTimeoutOption())
      .option('--classes <file>', 'party 0: class names to print, one per line (or JSON); default: the names mpcc compile --classes recorded')
      .addOption(jsonOption("(this party's report: seconds, rounds, bytes sent, and as party 0 its output file or values) on stdout, one line; with --serve one line per inference as it ends (party 0: {input, output, the report's fields, and outputs unless -o wrote them}; with --input - also latencySeconds, preparedBeforeInput), and a server's summary line when it stops")))
  ).action(
    action(async (out: string, options: PartyOptions) => {
      if (options.serve) return serveCommand(out, options);
      const print = outputPrinter(out, options);
      const report = await runParty(out, options, stderrProgress(options));
      const written = listOf(options.output)[0];
      if (options.json) process.stdout.write(JSON.stringify(written === undefined ? report : { ...report, outputs: undefined, output: written }) + '\n');
      else if (written !== undefined) process.stdout.write(`output written to ${written}\n`);
      else if (report.outputs) process.stdout.write(outputLines(report.outputs, print()).join('\n') + '\n');
    }),
  );
}

/** How the client prints its outputs (its manifest's client ops and class names, or --classes),
 * made once; a bad --classes fails before P0 connects. */
function outputPrinter(out: string, options: PartyOptions): () => OutputPrinting {
  const print = options.id === '0' ? outputPrinting(readManifest(partyFolder(out, 0)), options.classes) : {};
  return () => print;
}

/** A repeatable option's values, in order. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `mpcc party --serve`: the client prints its outputs (or one JSON report per inference);
 * a server logs its events on stderr (not with --quiet), stops on SIGTERM (or SIGINT) and
 * exits 0 with a last line saying why. */
async function serveCommand(out: string, options: PartyOptions): Promise<void> {
  const events: ProgressSink = options.quiet ? NO_PROGRESS : (line) => process.stderr.write(`mpcc: ${line}\n`);
  const print = outputPrinter(out, options);
  // The client on SIGTERM or SIGINT: MPCC5051 naming the phase, the servers told, nothing written.
  const stopClient = new AbortController();
  const inputs = listOf(options.input);
  const onInput = (s: ServedInput) => {
    if (options.json) process.stdout.write(JSON.stringify(s) + '\n');
    else if (s.outputs) process.stdout.write(`${s.input}:\n` + outputLines(s.outputs, print()).join('\n') + '\n');
    else if (s.output !== null) process.stdout.write(`${s.input}: output written to ${s.output}\n`);
  };
  if (options.id === '0') for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stopClient.abort(sig));
  const r = await serveParty(out, options, stderrProgress(options), events, {
    onServer: (stop) => {
      for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => stop(sig));
      // Started by an mpcc command on this machine (`mpcc run --inputs`, `mpcc eval OUT`: an IPC
      // channel, run.ts spawnParty): that command's end, however it ends, stops this server.
      if (process.channel) {
        process.channel.unref();
        process.once('disconnect', () => stop('the mpcc command that started it is gone'));
      }
    },
    signal: options.id === '0' ? stopClient.signal : undefined,
    onInput,
    // each inference's report (the client's top classes) as it ends, not all at the end
    onReport: (i, report) => {
      if (options.json) process.stdout.write(JSON.stringify(report) + '\n');
      else if (options.id !== '0') return;
      else if (report.outputs && listOf(options.output).length === 0) {
        if (inputs.length > 1) process.stdout.write(`${inputs[i]}:\n`);
        process.stdout.write(outputLines(report.outputs, print()).join('\n') + '\n');
      } else if (report.output) process.stdout.write(`${inputs[i]}: output written to ${report.output}\n`);
    },
  });
  if (r.summary) {
    const s = r.summary;
    process.stderr.write(`mpcc: party ${options.id}: stopped (${s.reason}) after ${s.inferences} inference(s) for ${s.clients} client(s)\n`);
    // --json: a report per inference served, printed as each ended (onReport), then the summary.
    if (options.json) process.stdout.write(JSON.stringify(s) + '\n');
    await exitAfterOutput(0);
  }
  // the client printed each input as it was done (onInput, onReport)
}
