// Round merging: many protocol steps of one party run concurrently as coroutines, each on
// its own StepSession. A step's round() call parks with the merger; when every live step is
// parked (or done), the merger makes ONE call of the party session's round: all steps'
// messages in step order (the session puts everything for one peer into one frame), and the
// frames received are split back by each step's expectBytes. All three parties run the same
// schedule, so the same steps meet in the same merged round everywhere and the split is
// unambiguous.

import { runtimeError } from '../diagnostics.js';
import type { Counters, Outgoing, PartyId, Prg, Session } from '../session/session.js';

interface Parked {
  step: StepSession;
  outgoing: readonly Outgoing[];
  from: readonly PartyId[];
  expect: Partial<Record<PartyId, number>>;
  resolve(got: Map<PartyId, Uint8Array>): void;
  reject(e: unknown): void;
}

/** Told when a step makes its first round() call (the executor checks the schedule). */
export type FirstRoundHook = (step: StepSession, mergedRound: number) => void;

/** Merges the rounds of concurrently running steps of one party into one exchange each. */
export class RoundMerger {
  /** Merged rounds so far (idle ones, where this party neither sends nor receives, too). */
  rounds = 0;
  private live = 0;
  private parked: Parked[] = [];
  private flushing = false;
  private failure: unknown = null;

  constructor(
    readonly session: Session,
    private readonly onFirstRound?: FirstRoundHook,
    /** The inference's offline material (offline.ts), handed to its steps by purpose. */
    readonly prepared?: { take(purpose: string): unknown },
  ) {}

  /** A StepSession for step `name`; `order` (its index in the program) fixes where its
   * messages go in the merged frames. Counts as live until `done()`. */
  open(name: string, order: number): StepSession {
    if (this.failure) throw this.failure;
    this.live++;
    return new StepSession(this, name, order);
  }

  /** Holds merged rounds back until `release()` (while several steps are being started,
   * so the first one cannot take a round alone). */
  hold(): void {
    this.live++;
  }

  /** Ends a `hold()`. */
  release(): void {
    this.leave();
  }

  /** Fails every parked step and all later rounds (a step threw). */
  fail(e: unknown): void {
    if (this.failure) return;
    this.failure = e;
    for (const p of this.parked.splice(0)) p.reject(e);
  }

  /** @internal A step finished. */
  leave(): void {
    this.live--;
    this.maybeFlush();
  }

  /** @internal A step's round() call. */
  park(step: StepSession, outgoing: readonly Outgoing[], from: readonly PartyId[], expectBytes?: Partial<Record<PartyId, number>>): Promise<Map<PartyId, Uint8Array>> {
    if (this.failure) return Promise.reject(this.failure);
    const expect: Partial<Record<PartyId, number>> = {};
    for (const p of from) {
      const n = expectBytes?.[p];
      // Without the length of each step's part, a merged frame could not be split.
      if (n === undefined || !Number.isInteger(n) || n < 0) {
        return Promise.reject(runtimeError('MPCC5201', [step.name, p]));
      }
      expect[p] = n;
    }
    return new Promise((resolve, reject) => {
      this.parked.push({ step, outgoing, from, expect, resolve, reject });
      this.maybeFlush();
    });
  }

  private maybeFlush(): void {
    if (this.flushing || this.failure || this.parked.length === 0 || this.parked.length < this.live) return;
    void this.flush();
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    const batch = this.parked.splice(0).sort((a, b) => a.step.order - b.step.order);
    const merged = ++this.rounds;
    try {
      for (const p of batch) {
        if (p.step.calls++ === 0) this.onFirstRound?.(p.step, merged);
      }
      const outgoing: Outgoing[] = [];
      const from = new Set<PartyId>();
      const expect: Partial<Record<PartyId, number>> = {};
      for (const p of batch) {
        outgoing.push(...p.outgoing);
        for (const q of p.from) {
          from.add(q);
          expect[q] = (expect[q] ?? 0) + p.expect[q]!;
        }
      }
      const peers = [...from].sort();
      const got = outgoing.length === 0 && peers.length === 0 ? new Map<PartyId, Uint8Array>() : await this.session.round(outgoing, peers, expect);
      const at: Record<number, number> = { 0: 0, 1: 0, 2: 0 };
      const results = batch.map((p) => {
        const mine = new Map<PartyId, Uint8Array>();
        for (const q of p.from) {
          const frame = got.get(q)!;
          mine.set(q, aligned(frame.subarray(at[q], at[q] + p.expect[q]!)));
          at[q] += p.expect[q]!;
        }
        return mine;
      });
      this.flushing = false;
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (e) {
      this.flushing = false;
      this.failure ??= e;
      for (const p of batch) p.reject(e);
      for (const p of this.parked.splice(0)) p.reject(e);
    }
  }
}

/** A part of a merged frame as the step would have received it alone: 8-byte aligned. */
function aligned(b: Uint8Array): Uint8Array {
  return b.byteOffset % 8 === 0 ? b : b.slice();
}

/** The Session one step sees: its own streams (purposes prefixed by the step's name, so
 * concurrent steps never interleave draws) and rounds that go through the merger. */
export class StepSession implements Session {
  /** round() calls made so far (set by the merger). */
  calls = 0;

  constructor(private readonly merger: RoundMerger, readonly name: string, readonly order: number) {}

  get id(): PartyId {
    return this.merger.session.id;
  }
  get counters(): Counters {
    return this.merger.session.counters;
  }
  shared(peer: PartyId, purpose: string): Prg {
    return this.merger.session.shared(peer, `${this.name}/${purpose}`);
  }
  common(purpose: string): Prg {
    return this.merger.session.common(`${this.name}/${purpose}`);
  }
  own(purpose: string): Prg {
    return this.merger.session.own(`${this.name}/${purpose}`);
  }
  /** This step's offline material for `purpose`, once (undefined without an offline phase). */
  prepared(purpose: string): unknown {
    return this.merger.prepared?.take(`${this.name}/${purpose}`);
  }
  round(outgoing: readonly Outgoing[], from: readonly PartyId[], expectBytes?: Partial<Record<PartyId, number>>): Promise<Map<PartyId, Uint8Array>> {
    return this.merger.park(this, outgoing, from, expectBytes);
  }
  /** The step is finished: it no longer holds up merged rounds. */
  done(): void {
    this.merger.leave();
  }
  /** A step does not own the connection: closing is the executor's job. */
  async close(): Promise<void> {}
}
