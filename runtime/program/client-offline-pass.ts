// The offline phase of a client-offline program (program.ts CLIENT_OFFLINE_KINDS; DESIGN's
// "the helper selects"): after the first product, P0's (the client's) share of every tensor is
// input-independent, so P0 runs its whole program in the offline phase, before the input:
//   - 'input' and 'reveal' are skipped (the input's share and everything computed from it
//     locally depend on the input: marked so, never fed to a client-offline step);
//   - a classic product ('weights', 'weightsSharedMask': P0's share is maskProduct's
//     map(A, W − B) + C0, input-independent; its M0 = x0 − A stays online);
//   - every other local step (no round: add, slice, concat, pools, layout…) through the same
//     StepFn as online, on P0's offline shares (pure: no message, no prepared material);
//   - each client-offline step calls its protocol's dealing with P0's offline inputs and takes
//     the output share the dealing returns (ClientOfflineDealer); a client-offline product
//     sharing a mask (maskFrom) is handed the earlier product's dealing (P1 reads its Z);
//   - any other communicating step (a classic ReLU, truncation…) gives values P0 does not know
//     offline: a client-offline step reading one is a program error (MPCC5222).
// P1 and P2 walk the same steps on zero placeholders, only to learn the sizes of the values the
// client-offline steps read (every party knows them from the program), and call the same
// dealings without inputs. The dealings' messages ride in the offline phase's closing exchange
// (offline.ts); each is then given its bytes (`receive`), and the online step takes its dealing
// as `${step}/clientOffline` (Session.prepared). Online, P0 runs its steps as usual: its
// client-offline steps return the shares dealt offline and its local steps recompute on them
// (cheap), so its rounds stay aligned with P1's and P2's and 'reveal' works unchanged.

import { InternalError, runtimeError } from '../diagnostics.js';
import { dealWeightsClientOffline, type MaskProduct, type WeightKey } from '../protocols/weights.js';
import type { Outgoing, PartyId, Session } from '../session/session.js';
import { CLIENT_OFFLINE_KINDS, type Program, type ProgramStep } from './program.js';
import { helperSelectSpec, liftInput, stepKind } from './steps.js';
import { dealHelperSelect } from '../protocols/helper-select.js';
import { dealTruncateClientOffline } from '../protocols/truncate-client-offline.js';

/** What the offline phase needs of a client-offline protocol's dealing (the protocols'
 * ClientOfflineDealing). */
export interface OfflineDealing {
  readonly outgoing: Outgoing[];
  readonly expect: Partial<Record<PartyId, number>>;
  receive(take: (from: PartyId) => Uint8Array): void;
  readonly output: BigUint64Array | null;
}

/** Deals a client-offline step on its streams `s`: `inputs` are P0's offline shares of its
 * operands (placeholders of the right sizes at P1 and P2), `key` and `mask` its product's weight
 * key and (P0, P2) mask product when it is one. */
export type ClientOfflineDealer = (s: Session, st: ProgramStep, inputs: BigUint64Array[], product: ProductDealing) => OfflineDealing;

/** What a product step's offline dealing takes: its weight key, (P0, P2) its mask product, and
 * for a client-offline product sharing a mask (maskFrom) the earlier product's dealing. */
export interface ProductDealing {
  key?: WeightKey;
  mask: MaskProduct | null;
  shared?: OfflineDealing;
}

/** The dealing of each client-offline step kind, from the contract's protocol API. */
export const CLIENT_OFFLINE_DEALERS: Readonly<Record<string, ClientOfflineDealer>> = {
  weightsClientOffline: (s, _st, [y], { key, mask, shared }) => dealWeightsClientOffline(s, key!, s.id === 0 ? y : null, mask, shared),
  helperSelect: (s, st, [v, res]) => dealHelperSelect(s, helperSelectSpec(st.params), s.id === 0 ? { v, res: res ?? null } : null),
  truncateClientOffline: (s, st, [v]) => dealTruncateClientOffline(s, v.length, Number(st.params.bits), s.id === 0 ? liftInput(st.params, v) : null, Number(st.params.ring ?? 64)),
};

/** P0's walk of its program in the offline phase (the file comment), and the dealings of its
 * client-offline steps, in program order. */
export class ClientOfflinePass {
  /** Every client-offline step's dealing, in program order (the closing exchange's order). */
  readonly dealings: OfflineDealing[] = [];
  /** P0: its offline share of each value still to be read; P1, P2: a zero placeholder. null:
   * a value whose size the walk does not know (after a communicating step of another kind). */
  private readonly values = new Map<string, BigUint64Array | null>();
  /** Values P0 does not know offline (they depend on the input). */
  private readonly inputDependent = new Set<string>();
  /** The dealings of the client-offline products whose mask later products share (maskFrom). */
  private readonly senders = new Map<string, OfflineDealing>();
  /** Readers left per value (a value is dropped after its last reader). */
  private readonly readers = new Map<string, number>();

  constructor(
    private readonly session: Session,
    private readonly program: Program,
    private readonly dealers: Readonly<Record<string, ClientOfflineDealer>> = CLIENT_OFFLINE_DEALERS,
  ) {
    for (const st of program.steps) for (const v of st.inputs) this.readers.set(v, (this.readers.get(v) ?? 0) + 1);
  }

  /** Visits step `st` (in program order) on its streams `streams`; `key`, `mask`: its
   * product's, for a product step; `put` stores a dealing for the online step. */
  async visit(st: ProgramStep, streams: Session, product: ProductDealing, put: (purpose: string, v: unknown) => void): Promise<void> {
    const me = this.session.id;
    const ins = st.inputs.map((v) => this.values.get(v) ?? null);
    const dependent = st.inputs.some((v) => this.inputDependent.has(v));
    let outs: (BigUint64Array | null)[];
    let unknown = dependent;
    if (CLIENT_OFFLINE_KINDS.has(st.kind)) {
      st.inputs.forEach((v, j) => {
        if (ins[j] === null || this.inputDependent.has(v))
          throw runtimeError('MPCC5222', ['(offline phase)', `steps.${st.name}.inputs[${j}]`, `value '${v}' is not known to the client offline (it depends on the input): a '${st.kind}' step reads values of the client-offline form`]);
      });
      const dealer = this.dealers[st.kind];
      if (!dealer) throw new InternalError(`no offline dealing for the client-offline step kind '${st.kind}'`);
      const from = st.kind === 'weightsClientOffline' && st.params.maskFrom !== undefined ? String(st.params.maskFrom) : undefined;
      const shared = from === undefined ? undefined : this.senders.get(from);
      if (from !== undefined && !shared) throw runtimeError('MPCC5222', ['(offline phase)', `steps.${st.name}.params.maskFrom`, `step '${from}' dealt no client-offline product before it`]);
      const d = dealer(streams, st, ins as BigUint64Array[], { ...product, shared });
      if (st.kind === 'weightsClientOffline' && from === undefined) this.senders.set(st.name, d);
      put(`${st.name}/clientOffline`, d);
      this.dealings.push(d);
      const n = st.kind === 'weightsClientOffline' ? product.key!.map.ySize : ins[0]!.length;
      if (me === 0 && d.output?.length !== n) throw new Error(`internal: the offline dealing of step '${st.name}' gave P0 ${d.output?.length ?? 'no'} output elements, expected ${n}`);
      outs = [me === 0 ? d.output! : new BigUint64Array(n)];
      unknown = false;
    } else if (st.kind === 'input') {
      outs = [new BigUint64Array(Number(st.params.size))];
      unknown = true;
    } else if (st.kind === 'reveal') {
      outs = [];
    } else if ((st.kind === 'weights' || st.kind === 'weightsSharedMask') && product.key) {
      // P0's product share is maskProduct's, whatever its operand; with keepMasked, the mask A.
      const { xSize, ySize } = product.key.map;
      outs = me === 0 ? [product.mask!.share, product.mask!.a] : [new BigUint64Array(ySize), new BigUint64Array(xSize)];
      outs = outs.slice(0, st.outputs.length);
      unknown = false;
    } else if (st.rounds === 0 && ins.every((x) => x !== null)) {
      // A local step: the online StepFn on this party's offline shares, as P0 (P1 and P2 learn
      // the sizes only: no constant is added, nothing is sent).
      const fn = stepKind(st.kind);
      outs = await fn({ session: asClient(streams), frac: this.program.frac, params: st.params, keys: new Map(), weights: new Map(), input: null, revealed: new Map(), step: st.name }, ins as BigUint64Array[]);
    } else {
      outs = st.outputs.map(() => null);
      unknown = true;
    }
    for (const v of st.inputs) {
      const left = this.readers.get(v)! - 1;
      this.readers.set(v, left);
      if (left === 0) this.values.delete(v), this.inputDependent.delete(v);
    }
    st.outputs.forEach((v, j) => {
      if (!this.readers.has(v)) return;
      this.values.set(v, outs[j] ?? null);
      if (unknown) this.inputDependent.add(v);
    });
  }

  /** Bytes this party receives from `peer` in the closing exchange for the dealings. */
  expected(peer: PartyId): number {
    return this.dealings.reduce((t, d) => t + (d.expect[peer] ?? 0), 0);
  }

  /** Hands every dealing its bytes from the closing exchange's frames, from offset `at[p]` of
   * peer p's frame on (advancing `at`). */
  receive(frames: ReadonlyMap<PartyId, Uint8Array>, at: Partial<Record<PartyId, number>>): void {
    for (const d of this.dealings) {
      d.receive((p) => {
        const from = at[p] ?? 0;
        at[p] = from + (d.expect[p] ?? 0);
        return frames.get(p)!.subarray(from, at[p]);
      });
    }
  }
}

/** The step's streams as P0 sees a local step (its id 0, so P1 adds no constant and the
 * kernels treat the share as P0's): P1 and P2 only compute sizes through it. */
function asClient(streams: Session): Session {
  return streams.id === 0 ? streams : { ...streams, id: 0 };
}
