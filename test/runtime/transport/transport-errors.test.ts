// Coded errors of sessions and transports not covered beside their features: a peer of
// another wire version (MPCC5007, in the TCP preamble and in the hello), a closed session
// (MPCC5009), and transport configurations that cannot work (MPCC5014).
import { expect } from 'chai';
import { createServer, connect, type Server } from 'node:net';
import { connectTcpSession, createInProcessSessions, freeLocalAddresses } from '../../../runtime/session/connect.js';
import { checkHello, createKeyShare, encodeHello } from '../../../runtime/session/keys.js';
import { parseHostPort } from '../../../runtime/transport/tcp.js';
import { runAsClient } from '../../../runtime/transport/serving-client.js';
import { ephemeralIdentities } from '../../../runtime/session/identity.js';
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

  it('at once, not at the connect deadline: a host that does not resolve (MPCC5014), another program at a peer address (MPCC5015), for a party and for a serving client', async () => {
    const ids = ephemeralIdentities();
    const peers = await freeLocalAddresses();
    const started = Date.now();
    // a one-shot P2 dials P0 and P1: P1's host is no host
    const dns = await caught(connectTcpSession({ id: 2, peers: [peers[0], 'nosuchhost.invalid:7001', peers[2]], timeoutMs: 15_000, identity: ids[2] }));
    expect(dns.code).to.equal('MPCC5014');
    expect(dns.message).to.equal("invalid transport configuration: the host of peer 1 (server)'s address, 'nosuchhost.invalid', is not found (ENOTFOUND)");
    // a party that only listens for that peer (P0) learns it at once too, not at its deadline
    const listening = await caught(connectTcpSession({ id: 0, peers: [peers[0], 'nosuchhost.invalid:7001', peers[2]], timeoutMs: 15_000, identity: ids[0] }));
    expect([listening.code, listening.message]).to.deep.equal(['MPCC5014', dns.message]);
    // a serving client: a web server where the server should be, nothing at the helper's address
    const web: Server = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.end('HTTP/1.0 400 Bad Request\r\n\r\n');
    });
    const { host, port } = parseHostPort(peers[1]);
    await new Promise<void>((resolve) => web.listen(port, host, resolve));
    try {
      const e = await caught(runAsClient({ peers, tag: 't', identity: ids[0], inferences: 1, timeoutMs: 15_000 }, async () => 0));
      expect([e.code, e.peer]).to.deep.equal(['MPCC5015', 1]);
      expect(e.message).to.contain(`the answer at ${peers[1]} is not an mpcc handshake (it begins 'HTTP/1.0 400 Bad Request…'`).and.contain('another program listens there, not party 1');
    } finally {
      web.close();
    }
    expect(Date.now() - started, 'both before a 15 s deadline').to.be.below(10_000);
  });

  it('MPCC5006 at a one-shot client nobody dials says how a client of serving parties is run (--serve)', async () => {
    const peers = await freeLocalAddresses();
    const e = await caught(connectTcpSession({ id: 0, peers, timeoutMs: 300 }));
    expect(e.code).to.equal('MPCC5006');
    expect(e.message).to.equal(`could not connect to peer 1 (server) at ${peers[1]} within 300 ms: it never connected to this party's address ${peers[0]} (nor did peer 2 (helper)); if the server and helper run with --serve, run this client with --serve too (it then dials them)`);
  });
});
