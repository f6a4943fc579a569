// Reproducible benchmark inputs (test data, not secrets: a linear congruential generator).

/** n values in [-half, half) from the given seed. */
export function benchInput(n: number, seed = 12345, half = 2): Float32Array {
  const x = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 4294967296) * 2 * half - half;
  }
  return x;
}
