// The list of mpcc's commands; each module adds one command to the program.
import type { Command } from 'commander';
import { registerIr } from './ir.js';
import { registerPasses } from './passes.js';
import { registerZoo } from './zoo.js';
import { registerInfer } from './infer.js';
import { registerCompile } from './compile.js';
import { registerRun } from './run.js';
import { registerParty } from './party.js';
import { registerCost } from './cost.js';
import { registerPlan } from './plan.js';
import { registerEval } from './eval.js';
import { registerExport } from './export.js';
import { registerKeygen } from './keygen.js';
import { registerReport } from './report.js';

/** Adds every mpcc command to `program`. */
export function registerCommands(program: Command): void {
  registerZoo(program);
  registerIr(program);
  registerPasses(program);
  registerInfer(program);
  registerCompile(program);
  registerRun(program);
  registerParty(program);
  registerCost(program);
  registerPlan(program);
  registerEval(program);
  registerExport(program);
  registerKeygen(program);
  registerReport(program);
}
