// `npm run bench -- interp [--json] [--runs N] [--models a,b]`: the plaintext interpreter on
// zoo models (built in memory): ONNX import time, interpreter time on 2 threads and on 1,
// process peak memory, beside onnxruntime-node on the same model and input in the same run
// (intraOpNumThreads 2 and 1). Each interpreter result is checked against onnxruntime's
// (max relative error) before it is reported.
import { loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { importOnnx } from '../compiler/onnx/import.js';
import { buildZooModel, zooEntry } from '../examples/zoo/index.js';
import { runGraph, setInterpreterThreads, interpreterThreads } from '../ir/interp/index.js';
import { Tensor } from '../ir/tensor.js';
import { benchInput } from './inputs.js';

/** One row of the table / JSON output (times in ms, memory in MB). */
interface Row {
  model: string;
  importMs: number;
  interp2Ms: number;
  interp1Ms: number;
  /** CPU time (all threads) of one 2-thread interpreter run: robust to other load on the machine. */
  interp2CpuMs: number;
  ort2Ms: number;
  ort1Ms: number;
  peakRssMB: number;
  maxRelError: number;
  /** 1-minute load average after the model (the machine has 2 cores). */
  load1: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Milliseconds of each of `runs` calls (after one untimed warm-up when `warm`); CPU ms in `cpu`. */
function timeRuns(fn: () => void, runs: number, warm = true, cpu: number[] = []): number[] {
  if (warm) fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return times;
}

async function timeRunsAsync(fn: () => Promise<unknown>, runs: number): Promise<number[]> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

async function measure(name: string, runs: number): Promise<Row> {
  const entry = zooEntry(name);
  const bytes = buildZooModel(name);
  let graph = importOnnx(bytes);
  const importMs = median(timeRuns(() => (graph = importOnnx(bytes)), Math.max(1, runs), false));
  const data = benchInput(entry.inputShape.reduce((a, b) => a * b, 1));
  const input = new Tensor('float32', entry.inputShape, data);
  const feeds = { [graph.inputs[0]]: input };
  let out: Tensor | undefined;
  const before = interpreterThreads();
  setInterpreterThreads(2);
  const cpu: number[] = [];
  const interp2Ms = median(timeRuns(() => (out = runGraph(graph, feeds).get(graph.outputs[0])), runs, true, cpu));
  setInterpreterThreads(1);
  const interp1Ms = median(timeRuns(() => runGraph(graph, feeds), runs));
  setInterpreterThreads(before);
  const peakRssMB = process.resourceUsage().maxRSS / 1024;

  const ortTimes: number[] = [];
  let ref: Float32Array | undefined;
  for (const threads of [2, 1]) {
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
    const ortFeeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [...entry.inputShape]) };
    ortTimes.push(median(await timeRunsAsync(async () => {
      ref = (await session.run(ortFeeds))[session.outputNames[0]].data as Float32Array;
    }, Math.max(runs, 5))));
    await session.release();
  }
  let scale = 1, err = 0;
  for (let i = 0; i < ref!.length; i++) scale = Math.max(scale, Math.abs(ref![i]));
  for (let i = 0; i < ref!.length; i++) err = Math.max(err, Math.abs(out!.data[i] - ref![i]));
  return { model: name, importMs, interp2Ms, interp1Ms, interp2CpuMs: median(cpu), ort2Ms: ortTimes[0], ort1Ms: ortTimes[1], peakRssMB, maxRelError: err / scale, load1: loadavg()[0] };
}

/** Runs the benchmark; prints a table, or a JSON array with --json. */
export async function run(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const at = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
  const runs = Number(at('--runs') ?? 3);
  const models = (at('--models') ?? 'resnet18-cifar,resnet50').split(',');
  const rows: Row[] = [];
  const loadBefore = loadavg()[0];
  for (const m of models) {
    if (!json) process.stderr.write(`interp bench: ${m}…\n`);
    rows.push(await measure(m, runs));
  }
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  const f = (x: number) => x.toFixed(0);
  const header = ['model', 'import ms', 'interp ms (2 thr)', 'interp CPU ms (2 thr)', 'interp ms (1 thr)', 'ort ms (2 thr)', 'ort ms (1 thr)', 'peak RSS MB', 'max rel err'];
  const lines = rows.map((r) => [r.model, f(r.importMs), f(r.interp2Ms), f(r.interp2CpuMs), f(r.interp1Ms), f(r.ort2Ms), f(r.ort1Ms), f(r.peakRssMB), r.maxRelError.toExponential(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  console.log(fmt(header));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const l of lines) console.log(fmt(l));
  console.log(`\nmedian of ${runs} runs after a warm-up (onnxruntime: of ${Math.max(runs, 5)}); peak RSS = process maxRSS after that model's interpreter runs`);
  console.log(`1-minute load average: ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after (2 cores; above 2, other processes share the CPU)`);
}
