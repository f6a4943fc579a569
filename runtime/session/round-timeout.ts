// How long a round may wait for its frames before the session gives up on the silent peer
// (MPCC5002). A fixed value (`--round-timeout MS`) or, by default, one derived from the
// static schedule, round by round:
//
//   timeout(round) = BASE_MS + ceil(1000 * maxBytes / BYTES_PER_SECOND)
//
// where maxBytes is the largest payload of the round, over every frame this party expects
// in it and every frame it sends in it (a peer's reply can only come once our own large
// frame has crossed the link). BASE_MS (10 s) covers latency and the peers' local compute
// between two rounds; BYTES_PER_SECOND (10 MB/s, a slow link) scales with the round's size,
// so a 100 MB round of resnet50 still gets 20 s while a stalled peer is detected within
// about 10 s in the many small rounds.

/** Fixed part of the default round timeout (ms). */
export const ROUND_TIMEOUT_BASE_MS = 10_000;
/** The conservative bandwidth the default round timeout assumes (bytes per second). */
export const ROUND_TIMEOUT_BYTES_PER_SECOND = 10_000_000;

/** A session's round timeout: a fixed number of ms (0: wait forever) or 'schedule' (the
 * default formula above, from each round's byte counts). */
export type RoundTimeout = number | 'schedule';

/** The default timeout (ms) of a round whose largest frame is `maxBytes` bytes. */
export function scheduleRoundTimeoutMs(maxBytes: number): number {
  return ROUND_TIMEOUT_BASE_MS + Math.ceil((1000 * maxBytes) / ROUND_TIMEOUT_BYTES_PER_SECOND);
}

/** The timeout (ms, 0 = none) of one round under `policy`. */
export function roundTimeoutMs(policy: RoundTimeout, maxBytes: number): number {
  return policy === 'schedule' ? scheduleRoundTimeoutMs(maxBytes) : policy;
}
