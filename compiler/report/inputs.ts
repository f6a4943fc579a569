// What `mpcc report` reads, each file checked before anything is drawn: a compiled folder OUT
// (its manifest.json, cost.json and, when compiled with a plan, plan.json) or a model file with an
// optional plan (its cost worked out by the driver, as `mpcc cost` does; with a plan in the mode
// `mpcc compile --plan` chooses by default); then the outputs of
// `mpcc run --json` (--run) and `mpcc eval --json` (--eval), one JSON object per line. Every
// problem is a coded error naming the file: a folder that is not OUT or has no cost.json
// (MPCC0030), a file that is not what its flag says (MPCC0031), a plan, run or evaluation of
// another model (MPCC0032–0034), flags that do not go together (MPCC0035).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type ProgressSink, NO_PROGRESS } from '../cli-support.js';
import { driveModel } from '../driver.js';
import { chooseClientOffline } from '../mode-choice.js';
import { readCostJson } from '../commands/cost.js';
import type { EvalReport } from '../eval-report.js';
import type { RunSummary } from '../commands/run.js';
import type { PlaintextCheck } from '../narrow.js';
import { diag } from '../../runtime/diagnostics.js';
import type { InputPreprocessing } from '../../runtime/program/manifest.js';
import { type CostReport, costReport } from '../../passes/secure/cost-model.js';
import { type Plan, modelFileSha256, readPlan } from '../../passes/planning/plan-file.js';
import { sha256 } from '../../runtime/program/artifacts.js';

/** One `mpcc run --json` object (with --verify-against-plaintext, its check too). */
export type RunRecord = RunSummary & { readonly plaintext?: PlaintextCheck };

/** One `mpcc eval --json` object. */
export type EvalRecord = EvalReport;

/** Everything a report shows, read and checked. */
export interface ReportInputs {
  /** 'compiled' for OUT, 'model' for a model file (with or without --plan). */
  readonly kind: 'compiled' | 'model';
  /** The OUT folder or the model file, as given. */
  readonly subject: string;
  /** sha256 of the model file (OUT/manifest.json's modelHash). */
  readonly modelSha256: string;
  /** The public architecture's digest (compiled folders only). */
  readonly architecture: string | null;
  /** Fractional bits of the fixed-point encoding (compiled folders only). */
  readonly frac: number | null;
  readonly inputShape: readonly number[] | null;
  readonly outputShapes: readonly (readonly number[])[];
  readonly cost: CostReport;
  readonly plan: Plan | null;
  /** The plan's file and its sha256 (to find the evaluation of this very plan). */
  readonly planFile: string | null;
  readonly planSha256: string | null;
  readonly runs: readonly { readonly file: string; readonly record: RunRecord }[];
  readonly evals: readonly { readonly file: string; readonly record: EvalRecord }[];
  /** What the manifest records for the client (compiled folders only): the first output's class
   * names (`mpcc compile --classes`) and how an image input is preprocessed. */
  readonly classes: readonly string[] | null;
  readonly preprocessing: InputPreprocessing | null;
}

/** What the command hands over. */
export interface ReportRequest {
  /** OUT (a folder written by mpcc compile) or a model file. */
  readonly subject: string;
  readonly plan?: string;
  readonly runs?: readonly string[];
  readonly evals?: readonly string[];
  /** For a model file: the driver's options, as for `mpcc cost`. */
  readonly passes?: string;
  readonly fracBits?: number;
  readonly inputShape?: number[];
}

/** Reads and checks every input of a report (see the file comment). */
export function readReportInputs(req: ReportRequest, log: ProgressSink = NO_PROGRESS): ReportInputs {
  const isFolder = isDirectory(req.subject);
  if (isFolder && req.plan !== undefined) throw diag('MPCC0035', ['OUT, or --plan PLAN with its MODEL', `'${req.subject}' is a compiled folder, whose plan is its own plan.json; drop --plan ${req.plan}`]);
  if (!isFolder && (req.runs?.length ?? 0) > 0) throw diag('MPCC0035', ['--run only with a compiled folder OUT', `'${req.subject}' is a model file; a run belongs to the folder it ran`]);
  const base = isFolder ? compiledInputs(req.subject) : modelInputs(req, log);
  const runs = (req.runs ?? []).flatMap((file) => jsonLines(file, 'an mpcc run --json output').map((o) => ({ file, record: runRecord(o, file) })));
  for (const r of runs) if (r.record.architecture !== base.architecture) throw diag('MPCC0033', [r.file, r.record.architecture, base.subject, base.architecture]);
  const evals = (req.evals ?? []).flatMap((file) => jsonLines(file, 'an mpcc eval --json output').map((o) => ({ file, record: evalRecord(o, file) })));
  for (const e of evals) if (e.record.model.sha256 !== base.modelSha256) throw diag('MPCC0034', [e.file, e.record.model.sha256, base.subject, base.modelSha256]);
  return { ...base, runs, evals };
}

type BaseInputs = Omit<ReportInputs, 'runs' | 'evals'>;

/** OUT: manifest.json, cost.json, plan.json when present. */
function compiledInputs(out: string): BaseInputs {
  const manifestFile = join(out, 'manifest.json');
  const costFile = join(out, 'cost.json');
  if (!existsSync(manifestFile)) throw diag('MPCC0030', [out, `it has no manifest.json (${manifestFile})`]);
  if (!existsSync(costFile)) throw diag('MPCC0030', [out, `it has no cost.json (${costFile}); compile the model again with mpcc compile`]);
  const manifest = parseObject(readText(manifestFile), manifestFile, 'a compiled model\'s manifest.json');
  const modelHash = manifest.modelHash, architecture = manifest.architecture;
  if (typeof modelHash !== 'string' || typeof architecture !== 'string') throw diag('MPCC0031', [manifestFile, 'a compiled model\'s manifest.json', 'modelHash or architecture missing']);
  const input = manifest.input as { shape?: unknown; preprocessing?: InputPreprocessing } | undefined;
  const classes = Array.isArray(manifest.classes) && manifest.classes.every((c) => typeof c === 'string') ? (manifest.classes as string[]) : null;
  const outputs = Array.isArray(manifest.outputs) ? (manifest.outputs as { shape?: unknown }[]) : [];
  const cost = readCostJson(costFile);
  const planFile = join(out, 'plan.json');
  const plan = existsSync(planFile) ? readPlan(planFile) : null;
  if (plan && plan.model.sha256 !== modelHash) throw diag('MPCC0032', [planFile, plan.model.sha256, manifestFile, modelHash]);
  return {
    kind: 'compiled', subject: out, modelSha256: modelHash, architecture, frac: typeof manifest.frac === 'number' ? manifest.frac : null,
    inputShape: shapeOf(input?.shape), outputShapes: outputs.map((o) => shapeOf(o.shape) ?? []), cost, plan,
    planFile: plan ? planFile : null, planSha256: plan ? sha256(readFileSync(planFile)) : null,
    classes, preprocessing: typeof input?.preprocessing === 'object' && input.preprocessing !== null ? input.preprocessing : null,
  };
}

/** A model file (and --plan): its cost through the driver, as `mpcc cost` works it out; with a
 * plan in the mode `mpcc compile --plan` takes by default (`--client-offline auto`,
 * compiler/mode-choice.ts), so the report predicts what that compile writes. */
function modelInputs(req: ReportRequest, log: ProgressSink): BaseInputs {
  const model = req.subject;
  const modelSha256 = modelFileSha256(model);
  const plan = req.plan === undefined ? null : readPlan(req.plan);
  if (plan && plan.model.sha256 !== modelSha256) throw diag('MPCC0032', [req.plan, plan.model.sha256, model, modelSha256]);
  const driver = { passes: req.passes, fracBits: req.fracBits, planFile: req.plan, inputShape: req.inputShape };
  const { graph } = req.plan === undefined ? driveModel(model, { ...driver, target: 'scheduled', log }) : chooseClientOffline(model, driver, log);
  const cost = costReport(graph);
  const inputShape = graph.types.get(graph.inputs[0])?.shape ?? null;
  return {
    kind: 'model', subject: model, modelSha256, architecture: null, frac: null, inputShape,
    outputShapes: graph.outputs.map((o) => graph.types.get(o)?.shape ?? []), cost, plan,
    planFile: req.plan ?? null, planSha256: req.plan === undefined ? null : sha256(readFileSync(req.plan)),
    classes: null, preprocessing: null,
  };
}

/** The JSON objects of a file of one object per line (or one pretty-printed object). */
function jsonLines(file: string, what: string): Record<string, unknown>[] {
  const text = readText(file).trim();
  if (text === '') throw diag('MPCC0031', [file, what, 'the file is empty']);
  try {
    return [parseObject(text, file, what)];
  } catch {
    return text.split('\n').filter((l) => l.trim() !== '').map((l, i) => parseObject(l, `${file}:${i + 1}`, what));
  }
}

function parseObject(text: string, file: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw diag('MPCC0031', [file, what, `not JSON (${(e as Error).message})`]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw diag('MPCC0031', [file, what, 'not a JSON object']);
  return value as Record<string, unknown>;
}

const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isNumOrNull = (x: unknown) => x === null || isNum(x);

function runRecord(o: Record<string, unknown>, file: string): RunRecord {
  const what = 'an mpcc run --json output';
  const bytes = o.bytes as Record<string, unknown> | undefined;
  if (!isNum(o.wallSeconds) || !isNum(o.rounds) || typeof bytes !== 'object' || bytes === null || !['total', 'online', 'preprocessing', 'oneTime'].every((k) => isNum(bytes[k])) || !Array.isArray(bytes.perParty)) {
    throw diag('MPCC0031', [file, what, 'expected {wallSeconds, rounds, bytes: {total, online, preprocessing, oneTime, perParty}, architecture}']);
  }
  if (typeof o.architecture !== 'string') throw diag('MPCC0031', [file, what, 'no architecture digest (run it again with this mpcc)']);
  return o as unknown as RunRecord;
}

function evalRecord(o: Record<string, unknown>, file: string): EvalRecord {
  const what = 'an mpcc eval --json output';
  const fields = ['top1', 'top5', 'miou', 'pixelAcc', 'drelus', 'baselineDrelus'];
  if (!isNum(o.n) || !fields.every((k) => isNumOrNull(o[k])) || (o.of !== undefined && !isNum(o.of))) throw diag('MPCC0031', [file, what, `expected {${fields.join(', ')}, n, of?, model, plan}`]);
  // a segmenter's IoU per class (since session 21; older outputs have none)
  if (o.iou !== undefined && o.iou !== null && !(Array.isArray(o.iou) && o.iou.every(isNumOrNull))) throw diag('MPCC0031', [file, what, 'iou must be null or a list of numbers and nulls, one per class']);
  const model = o.model as { sha256?: unknown } | undefined;
  if (model?.sha256 === null) throw diag('MPCC0031', [file, what, 'it measured a client\'s own folder (party0/), which does not record the model\'s sha256: evaluate OUT instead']);
  if (typeof model?.sha256 !== 'string') throw diag('MPCC0031', [file, what, 'no model sha256 (evaluate it again with this mpcc)']);
  const plan = o.plan as { sha256?: unknown } | null | undefined;
  if (plan !== null && typeof plan?.sha256 !== 'string') throw diag('MPCC0031', [file, what, 'plan must be null or {sha256, method}']);
  return o as unknown as EvalRecord;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw diag('MPCC0002', [file, (e as Error).message]);
  }
}

function shapeOf(x: unknown): number[] | null {
  return Array.isArray(x) && x.every((d) => typeof d === 'number') ? (x as number[]) : null;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
