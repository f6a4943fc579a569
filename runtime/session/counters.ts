// Byte, frame and round counters of a party. Only payload bytes are counted (the bytes the
// protocols put into messages), never frame headers or the connect handshake, so the counters
// equal the compiler's cost formulas exactly; wire overhead is counted apart in `wireSent`.

import type { Counters, Phase } from './session.js';

/** The counters of a party, with the additions this runtime keeps beside the contract. */
export interface PartyCounters extends Counters {
  /** Bytes received from each peer (index = peer id). */
  receivedFrom: [number, number, number];
  /** Bytes sent to each peer per phase. */
  sentToByPhase: [Record<Phase, number>, Record<Phase, number>, Record<Phase, number>];
  /** Frames sent to each peer (one per round in which this party sends to it). */
  framesSent: [number, number, number];
  /** Frames received from each peer. */
  framesReceived: [number, number, number];
  /** Bytes of data frames including their headers (the in-process transport counts the
   * headers as if it had encoded them, so both transports report the same figure). */
  wireSent: number;
  /** Bytes sent per protocol step label and phase ("label" -> phase -> bytes). */
  byLabelPhase: Map<string, Record<Phase, number>>;
}

/** All-zero per-phase byte counts. */
export function zeroPhases(): Record<Phase, number> {
  return { online: 0, preprocessing: 0, oneTime: 0 };
}

/** Fresh all-zero counters. */
export function newCounters(): PartyCounters {
  return {
    sent: zeroPhases(),
    received: zeroPhases(),
    sentTo: [0, 0, 0],
    rounds: 0,
    byLabel: new Map(),
    receivedFrom: [0, 0, 0],
    sentToByPhase: [zeroPhases(), zeroPhases(), zeroPhases()],
    framesSent: [0, 0, 0],
    framesReceived: [0, 0, 0],
    wireSent: 0,
    byLabelPhase: new Map(),
  };
}

/** A deep copy (for taking a snapshot before a protocol step). */
export function cloneCounters(c: PartyCounters): PartyCounters {
  return {
    sent: { ...c.sent },
    received: { ...c.received },
    sentTo: [...c.sentTo],
    rounds: c.rounds,
    byLabel: new Map(c.byLabel),
    receivedFrom: [...c.receivedFrom],
    sentToByPhase: [{ ...c.sentToByPhase[0] }, { ...c.sentToByPhase[1] }, { ...c.sentToByPhase[2] }],
    framesSent: [...c.framesSent],
    framesReceived: [...c.framesReceived],
    wireSent: c.wireSent,
    byLabelPhase: new Map([...c.byLabelPhase].map(([k, v]) => [k, { ...v }])),
  };
}

function subPhases(a: Record<Phase, number>, b: Record<Phase, number>): Record<Phase, number> {
  return { online: a.online - b.online, preprocessing: a.preprocessing - b.preprocessing, oneTime: a.oneTime - b.oneTime };
}

function subTriple(a: [number, number, number], b: [number, number, number]): [number, number, number] {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

/** after − before: what happened between two snapshots (labels absent before count from 0). */
export function counterDelta(after: PartyCounters, before: PartyCounters): PartyCounters {
  const byLabel = new Map<string, number>();
  for (const [k, v] of after.byLabel) {
    const d = v - (before.byLabel.get(k) ?? 0);
    if (d !== 0) byLabel.set(k, d);
  }
  const byLabelPhase = new Map<string, Record<Phase, number>>();
  for (const [k, v] of after.byLabelPhase) {
    const d = subPhases(v, before.byLabelPhase.get(k) ?? zeroPhases());
    if (d.online !== 0 || d.preprocessing !== 0 || d.oneTime !== 0) byLabelPhase.set(k, d);
  }
  return {
    sent: subPhases(after.sent, before.sent),
    received: subPhases(after.received, before.received),
    sentTo: subTriple(after.sentTo, before.sentTo),
    rounds: after.rounds - before.rounds,
    byLabel,
    receivedFrom: subTriple(after.receivedFrom, before.receivedFrom),
    sentToByPhase: [
      subPhases(after.sentToByPhase[0], before.sentToByPhase[0]),
      subPhases(after.sentToByPhase[1], before.sentToByPhase[1]),
      subPhases(after.sentToByPhase[2], before.sentToByPhase[2]),
    ],
    framesSent: subTriple(after.framesSent, before.framesSent),
    framesReceived: subTriple(after.framesReceived, before.framesReceived),
    wireSent: after.wireSent - before.wireSent,
    byLabelPhase,
  };
}

/** Total payload bytes of a per-phase record. */
export function phaseTotal(p: Record<Phase, number>): number {
  return p.online + p.preprocessing + p.oneTime;
}
