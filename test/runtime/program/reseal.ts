// Test helper: after a test edits files of a party's folder, rewrites that folder's
// manifest.json the way someone who hands out the folder could (every file's sha256 and the
// public architecture digest recomputed), so only the program's own validation stands between
// the edit and the run.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { architectureDigest, sha256, type PartyManifest, type Program } from '../../../runtime/program/index.js';

/** Re-seals `folder`'s manifest over its current files; returns the manifest written. */
export function resealParty(folder: string): PartyManifest {
  const file = join(folder, 'manifest.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as PartyManifest;
  for (const f of Object.keys(m.files)) m.files[f] = sha256(readFileSync(join(folder, f)));
  try {
    const program = JSON.parse(readFileSync(join(folder, 'program.json'), 'utf8')) as Program;
    m.architecture = architectureDigest(program, m.files['kernels.wasm']);
  } catch {
    // A program that is not JSON keeps the old digest: the loader refuses it first.
  }
  writeFileSync(file, JSON.stringify(m, null, 2) + '\n');
  return m;
}
