// Coded errors of sessions and transports not covered beside their features: a peer of
// another wire version (MPCC5007, in the TCP preamble and in the hello), a closed session
// (MPCC5009), and transport configurations that cannot work (MPCC5014).
import { expect } from 'chai';
import { createServer, connect, type Server } from 'node:net';
import { connectTcpSession, createInProcessSessions, freeLocalAddresses } from '../../../runtime/session/connect.js';
import { checkHello, createKeyShare, encodeHello } from '../../../runtime/session/keys.js';
import { parseHostPort } from '../../../runtime/transport/tcp.js';
import { WIRE_VERSION } from '../../../runtime/transport/frame.js';
import type { RuntimeError } from '../../../runtime/diagnostics.js';

const caught = async (p: Promise<unknown>): Promise<RuntimeError> => {
  const e = await p.then(() => null, (err: RuntimeError) => err);
  expect(e, 'should fail').to.not.equal(null);
  return e!;
};

describe('runtime: coded errors of sessions and transports', function () {
  this.timeout(20000);

  it('MPCC5007 when a peer dials with another wire version', async () => {
    const peers = await freeLocalAddresses();
    const party0 = connectTcpSession({ id: 0, peers, timeoutMs: 5000 });
    // Party 1 of a newer mpcc: the preamble "mpcc", version 99, from 1, to 0.
    const { host, port } = parseHostPort(peers[0]);
    const socket = await new Promise<ReturnType<typeof connect>>((resolve, reject) => {
      const tryConnect = (left: number): void => {
        const s = connect(port, host, () => resolve(s));
        s.once('error', () => (left > 0 ? setTimeout(() => tryConnect(left - 1), 50) : reject(new Error('party 0 never listened'))));
      };
      tryConnect(40);
    });
    const preamble = Buffer.from([0x6d, 0x70, 0x63, 0x63, 99, 0, 1, 0]);
    socket.write(preamble);
    const e = await caught(party0);
    socket.destroy();
    expect(e.code).to.equal('MPCC5007');
    expect(e.peer).to.equal(1);
    expect(e.message).to.equal(`peer 1 (server) runs wire version 99, this party runs version ${WIRE_VERSION}`);
  });

  it('MPCC5007 for a hello of another wire version', () => {
    const hello = encodeHello({ version: WIRE_VERSION + 1, party: 2, tag: 't', publicRaw: createKeyShare().publicRaw });
    expect(() => checkHello(hello, 2, 't')).to.throw(`peer 2 (helper) runs wire version ${WIRE_VERSION + 1}, this party runs version ${WIRE_VERSION}`).with.property('code', 'MPCC5007');
  });

  it('MPCC5009 for a round on a closed session', async () => {
    const ss = await createInProcessSessions();
    await Promise.all(ss.map((s) => s.close()));
    const e = await caught(ss[0].round([{ to: 1, data: new Uint8Array(4), label: 'x' }], []));
    expect(e.code).to.equal('MPCC5009');
    expect(e.message).to.equal('session of party 0 is closed: closed');
  });

  it('MPCC5014 for peer addresses TCP cannot use', async () => {
    expect(() => parseHostPort('localhost')).to.throw("invalid transport configuration: 'localhost' is not host:port").with.property('code', 'MPCC5014');
    const two = await caught(connectTcpSession({ id: 0, peers: ['127.0.0.1:1', '127.0.0.1:2'] as unknown as [string, string, string] }));
    expect([two.code, two.message]).to.deep.equal(['MPCC5014', 'invalid transport configuration: need the addresses of 3 parties, got 2']);
    // This party's own address is taken by another program.
    const peers = await freeLocalAddresses();
    const squatter: Server = createServer();
    const { host, port } = parseHostPort(peers[0]);
    await new Promise<void>((resolve) => squatter.listen(port, host, resolve));
    try {
      const e = await caught(connectTcpSession({ id: 0, peers, timeoutMs: 2000 }));
      expect(e.code).to.equal('MPCC5014');
      expect(e.message).to.equal(`invalid transport configuration: party 0 cannot listen on ${peers[0]}: EADDRINUSE`);
    } finally {
      squatter.close();
    }
  });
});
