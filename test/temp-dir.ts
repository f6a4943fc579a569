// A temporary folder for one mocha suite: made before its tests, removed with everything in it
// after them, so a failing test leaves nothing behind.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Registers the suite's before/after hooks; returns the folder's path (valid inside tests). */
export function suiteTempDir(prefix: string): () => string {
  let dir = '';
  before(() => (dir = mkdtempSync(join(tmpdir(), prefix))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
}
