// The report tests' shared fixture: tiny-cnn compiled with a plan whose channels take identity,
// [1,1] and large blocks (whole 16×16 and 8×8 maps), an in-process secure run of it checked
// against plaintext (`mpcc run --json --verify-against-plaintext`), and `mpcc eval --json` of
// the planned, a uniform and the unplanned network — every file as the commands write it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCompile } from '../../../compiler/commands/compile.js';
import { runEval } from '../../../compiler/commands/eval.js';
import { runPlanCommand } from '../../../compiler/commands/plan.js';
import { runSecure } from '../../../compiler/commands/run.js';
import { encodeNpy } from '../../../compiler/npy.js';
import { buildZooModel } from '../../../examples/zoo/index.js';
import { type ChannelBlock, type Plan, makePlan, planJson } from '../../../passes/planning/plan-file.js';

/** The blocks of the fixture's plan: tiny-cnn's /relu1/Relu (8 channels of 16×16) and /relu2/Relu (16 of 8×8). */
export const FIXTURE_BLOCKS: Readonly<Record<string, readonly ChannelBlock[]>> = {
  '/relu1/Relu': ['identity', [1, 1], [16, 16], [4, 4], [2, 8], 'identity', [1, 1], [8, 8]],
  '/relu2/Relu': [[1, 1], 'identity', [8, 8], [2, 2], [4, 4], [1, 1], [8, 4], 'identity', [1, 1], [2, 2], [8, 8], [1, 2], [4, 4], [1, 1], 'identity', [3, 3]],
};

/** A JSON file's content. */
export const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

/** The fixture's files, by what they are. */
export interface ReportFixture {
  readonly model: string;
  readonly plan: string;
  readonly planData: Plan;
  /** The uniform 4x4 plan of tiny-cnn (every channel of both ReLU layers 4x4). */
  readonly uniformPlan: string;
  readonly out: string;
  readonly run: string;
  readonly evals: string;
  /** A second model (secure-ops), and an evaluation of it. */
  readonly otherModel: string;
  readonly otherEval: string;
  /** tiny-cnn compiled without a plan: another architecture. */
  readonly outUnplanned: string;
}

/** Writes the fixture into `dir` (a few seconds: two compiles, one in-process run, four evaluations). */
export async function makeReportFixture(dir: string): Promise<ReportFixture> {
  const file = (name: string) => join(dir, name);
  writeFileSync(file('tiny.onnx'), buildZooModel('tiny-cnn'));
  writeFileSync(file('ops.onnx'), buildZooModel('secure-ops'));
  const { plan: uniform } = runPlanCommand(file('tiny.onnx'), { uniform: '4x4', output: file('uniform.json') });
  const planData = makePlan(uniform.model, uniform.layers.map((l) => ({ name: l.name, shape: l.shape, blocks: FIXTURE_BLOCKS[l.name] })), { method: 'hand-made', tool: 'report test' }, true);
  writeFileSync(file('mixed.json'), planJson(planData));
  // the classic mode, whose MaxPool step the run's sign-error rows name as one layer (compile's
  // default with a plan, auto, takes the client-offline mode for this model: report.test.ts)
  runCompile(file('tiny.onnx'), { output: file('out'), plan: file('mixed.json'), clientOffline: 'off' });
  runCompile(file('tiny.onnx'), { output: file('out-unplanned') });

  const xs = Array.from({ length: 768 }, (_, i) => Math.sin(i / 7) + 0.3 * Math.cos(i / 3));
  writeFileSync(file('x.npy'), encodeNpy([1, 3, 16, 16], xs));
  const { summary, check } = await runSecure(file('out'), { input: file('x.npy'), transport: 'inproc', verifyAgainstPlaintext: file('tiny.onnx') });
  writeFileSync(file('run.json'), JSON.stringify({ ...summary, plaintext: check }) + '\n');

  const images = Array.from({ length: 24 * 768 }, (_, i) => Math.sin(i / 5.3) * Math.cos(i / 17.1));
  writeFileSync(file('xs.npy'), encodeNpy([24, 3, 16, 16], images));
  writeFileSync(file('ys.npy'), encodeNpy([24], Array.from({ length: 24 }, (_, i) => i % 10), '<i8'));
  const evals: string[] = [];
  for (const plan of [file('mixed.json'), file('uniform.json'), undefined]) evals.push((await runEval(file('tiny.onnx'), { data: file('xs.npy'), labels: file('ys.npy'), plan, json: true })).text);
  writeFileSync(file('evals.jsonl'), evals.join(''));
  writeFileSync(file('ops-eval.json'), (await runEval(file('ops.onnx'), { data: file('xs.npy'), labels: file('ys.npy'), json: true })).text);
  return {
    model: file('tiny.onnx'), plan: file('mixed.json'), planData, uniformPlan: file('uniform.json'), out: file('out'), run: file('run.json'), evals: file('evals.jsonl'),
    otherModel: file('ops.onnx'), otherEval: file('ops-eval.json'), outUnplanned: file('out-unplanned'),
  };
}
