// The runtime's entry points for starting a session: three parties in one process (in-memory
// links on one thread, worker threads linked by message ports, or local TCP), or this
// process as one party of three over TCP.

export { createInProcessSessions, runInProcess } from '../transport/in-process.js';
export { connectTcpSession, createLocalTcpSessions, runLocalTcp, freeLocalAddresses, TcpPartySession, type TcpSessionOptions, type LocalTcpOptions } from '../transport/tcp.js';
export { PartySession, type SessionOptions, type ReceivedPayload } from './party-session.js';
export { runParties } from './run-parties.js';
export { runInWorkers, settleInWorkers, type PartyOutcome } from '../transport/workers.js';
export { RuntimeError } from '../diagnostics.js';
export { ephemeralIdentities, loadIdentity, type PartyIdentity } from './identity.js';
