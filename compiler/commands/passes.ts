// `mpcc passes`: lists the passes and named pipelines a --passes string may use, each with its
// one-sentence contract and its options (kind, default, meaning).
import type { Command } from 'commander';
import { action } from '../cli-support.js';
import { type OptionSpec, registeredPasses, registeredPipelines } from '../../passes/index.js';

/** The listing `mpcc passes` prints. */
export function passListing(): string {
  const lines: string[] = ['Passes:'];
  for (const p of registeredPasses()) {
    lines.push(`  ${p.name}`, `      ${p.summary}`);
    for (const [key, spec] of Object.entries(p.options as Record<string, OptionSpec>)) {
      lines.push(`      {${key}=<${spec.kind}>}  ${spec.doc} (default ${String(spec.default)})`);
    }
  }
  lines.push('', 'Named pipelines:');
  for (const n of registeredPipelines()) lines.push(`  ${n.name} = ${n.pipeline}`, `      ${n.summary}`);
  lines.push('', "Pipeline syntax: pass,pass{option=value,option=value},... e.g. 'canonicalize,relu6-to-relu'");
  return lines.join('\n') + '\n';
}

/** Adds `mpcc passes` to the program. */
export function registerPasses(program: Command): void {
  program
    .command('passes')
    .description('list the passes and named pipelines usable in --passes, with their options')
    .action(
      action(() => {
        process.stdout.write(passListing());
      }),
    );
}
