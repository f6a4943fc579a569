// Party identities (runtime/session/identity.ts) and the pair key's binding to the
// authenticated channel (runtime/session/keys.ts): key files round-trip, wrong files are
// refused with MPCC5019 naming the file, and the pair key depends on the channel secret.

import { expect } from 'chai';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileFingerprint, keyFingerprint, loadIdentity, privateKeyModeWarning, readPublicKey, writeKeyPair } from '../../../runtime/session/identity.js';
import { createKeyShare, pairwiseKey } from '../../../runtime/session/keys.js';
import { MpccError } from '../../../runtime/diagnostics.js';

function code5019(fn: () => unknown, ...parts: string[]): void {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(MpccError);
    expect((e as MpccError).code).to.equal('MPCC5019');
    for (const p of parts) expect((e as Error).message).to.contain(p);
    return;
  }
  throw new Error('accepted');
}

describe('runtime/session: party identities', function () {
  let dir = '';
  before(() => (dir = mkdtempSync(join(tmpdir(), 'mpcc-identity-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes and reads the three parties\' keys; each identity pins the other two', () => {
    const kps = [0, 1, 2].map((id) => writeKeyPair(join(dir, 'k'), id as 0 | 1 | 2));
    expect(statSync(join(dir, 'k', 'party0.key')).mode & 0o777).to.equal(0o600);
    for (const id of [0, 1, 2] as const) {
      const ident = loadIdentity(id, join(dir, 'k', `party${id}.key`), join(dir, 'k'));
      expect(Buffer.from(ident.own.publicRaw).equals(Buffer.from(kps[id].publicRaw))).to.equal(true);
      for (const p of [0, 1, 2]) {
        if (p === id) expect(ident.peers[p]).to.equal(null);
        else expect(Buffer.from(ident.peers[p]!).equals(Buffer.from(kps[p].publicRaw))).to.equal(true);
      }
    }
    expect(keyFingerprint(kps[0].publicRaw)).to.match(/^([0-9a-f]{4}:){7}[0-9a-f]{4}$/);
    expect(keyFingerprint(kps[0].publicRaw)).to.not.equal(keyFingerprint(kps[1].publicRaw));
  });

  it('refuses an Ed25519 key, a non-PEM file, and its own key posing as a peer\'s (MPCC5019, naming the file)', () => {
    const ed = join(dir, 'ed.pub');
    writeFileSync(ed, generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }));
    code5019(() => readPublicKey(ed), 'ed.pub', 'ed25519', 'not an X25519 key');
    const junk = join(dir, 'junk.pub');
    writeFileSync(junk, 'hello');
    code5019(() => readPublicKey(junk), 'junk.pub', 'is not a PEM public key');
    const k2 = join(dir, 'k2');
    writeKeyPair(k2, 0);
    writeKeyPair(k2, 2);
    copyFileSync(join(k2, 'party0.pub'), join(k2, 'party1.pub'));
    code5019(() => loadIdentity(0, join(k2, 'party0.key'), k2), 'party0.key', '(--key) is the private key of', 'party1.pub', "party 1's public key", "party 0's own party0.key");
  });

  it("gives a key file's fingerprint, the same for the .key and its .pub as keygen's, and warns of a private key others can read", () => {
    const k3 = join(dir, 'k3');
    const kp = writeKeyPair(k3, 1);
    const fp = keyFingerprint(kp.publicRaw);
    expect(fileFingerprint(join(k3, 'party1.pub'))).to.deep.equal({ kind: 'public', fingerprint: fp });
    expect(fileFingerprint(join(k3, 'party1.key'))).to.deep.equal({ kind: 'private', fingerprint: fp });
    expect(privateKeyModeWarning(join(k3, 'party1.key'))).to.equal(null);
    chmodSync(join(k3, 'party1.key'), 0o644);
    expect(privateKeyModeWarning(join(k3, 'party1.key'))).to.contain('can be read by other users (mode 0644)').and.contain(`chmod 600 ${join(k3, 'party1.key')}`);
  });

  it('derives the pair key from the channel secret too: both ends agree, another secret gives another key', () => {
    const [a, b] = [createKeyShare(), createKeyShare()];
    const secret = new Uint8Array(randomBytes(32));
    const ka = pairwiseKey(a, 0, b.publicRaw, 1, 't', secret);
    const kb = pairwiseKey(b, 1, a.publicRaw, 0, 't', secret);
    expect(Buffer.from(ka).equals(Buffer.from(kb))).to.equal(true);
    expect(Buffer.from(pairwiseKey(a, 0, b.publicRaw, 1, 't', new Uint8Array(randomBytes(32)))).equals(Buffer.from(ka))).to.equal(false);
    expect(Buffer.from(pairwiseKey(a, 0, b.publicRaw, 1, 't')).equals(Buffer.from(ka))).to.equal(false);
  });
});
