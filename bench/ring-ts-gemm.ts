// A carefully written TypeScript GEMM over Z_2^64 on Uint32 halves: the baseline that decides
// whether the conv/matmul kernels need WebAssembly (bench/ring.ts measures both).

const TWO16 = 65536;
const TWO32 = 4294967296;
/** Terms summed in doubles before folding: 32 products < 2^48 stay below 2^53. */
const FOLD = 32;

/** C[m][n] = A[m][k] · B[k][n] mod 2^64, all as interleaved (lo, hi) Uint32 words; B is given
 * transposed ([n][k]) so both operands stream contiguously (favourable to this baseline). */
export function gemmHalves(a: Uint32Array, bT: Uint32Array, c: Uint32Array, m: number, k: number, n: number): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let lo = 0; // result mod 2^64 as two uint32 words kept in doubles
      let hi = 0;
      for (let t0 = 0; t0 < k; t0 += FOLD) {
        const t1 = Math.min(k, t0 + FOLD);
        let low = 0; // sum of (alo & 0xffff) * blo, each < 2^48
        let mid = 0; // sum of (alo >>> 16) * blo, weight 2^16
        let cross = 0; // sum of alo*bhi + ahi*blo mod 2^32, weight 2^32
        for (let t = t0; t < t1; t++) {
          const ai = 2 * (i * k + t);
          const bi = 2 * (j * k + t);
          const alo = a[ai];
          const ahi = a[ai + 1];
          const blo = bT[bi];
          const bhi = bT[bi + 1];
          low += (alo & 0xffff) * blo;
          mid += (alo >>> 16) * blo;
          cross = (cross + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
        }
        const midLo = mid % TWO16;
        const lowWord = (low % TWO32) + midLo * TWO16 + lo;
        const carry = Math.floor(lowWord / TWO32);
        lo = lowWord % TWO32;
        hi = (hi + Math.floor(low / TWO32) + Math.floor(mid / TWO16) + carry + (cross >>> 0)) % TWO32;
      }
      c[2 * (i * n + j)] = lo;
      c[2 * (i * n + j) + 1] = hi;
    }
  }
}
