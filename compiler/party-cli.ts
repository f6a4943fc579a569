// A light entry point for `mpcc party` alone: `mpcc run` spawns three of these, and loading
// only the runtime (not the importer, parser and binaryen that the full CLI loads) makes each
// party process start several times faster. Same flags and behaviour as `mpcc party`.
import { Command } from 'commander';
import { registerParty } from './commands/party.js';
import { usageErrors } from './cli-support.js';

const program = usageErrors(new Command('mpcc'));
registerParty(program);
await program.parseAsync(process.argv);
