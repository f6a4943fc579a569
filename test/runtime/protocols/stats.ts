// Statistics for the security tests: chi-square goodness of fit and homogeneity, with
// critical values far in the tail so an honest protocol fails only by a ~1e-6 fluke.

/** Upper quantile of chi-square with df degrees of freedom at normal deviate z (Wilson–Hilferty). */
export function chiSquareCritical(df: number, z = 4.75): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Histogram of values in [0, bins). */
export function histogram(values: ArrayLike<number>, bins: number): Float64Array {
  const h = new Float64Array(bins);
  for (let i = 0; i < values.length; i++) h[values[i]]++;
  return h;
}

/** Chi-square statistic of a histogram against the uniform distribution. */
export function chiSquareUniform(h: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < h.length; i++) total += h[i];
  const e = total / h.length;
  let x = 0;
  for (let i = 0; i < h.length; i++) x += (h[i] - e) ** 2 / e;
  return x;
}

/** Chi-square statistic of homogeneity of two histograms (same bins). */
export function chiSquareHomogeneity(a: ArrayLike<number>, b: ArrayLike<number>): { stat: number; df: number } {
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    na += a[i];
    nb += b[i];
  }
  let stat = 0;
  let df = -1;
  for (let i = 0; i < a.length; i++) {
    const col = a[i] + b[i];
    if (col === 0) continue;
    df++;
    const ea = (col * na) / (na + nb);
    const eb = (col * nb) / (na + nb);
    stat += (a[i] - ea) ** 2 / ea + (b[i] - eb) ** 2 / eb;
  }
  return { stat, df };
}

/** True when the values look uniform over [0, bins). */
export function looksUniform(values: ArrayLike<number>, bins: number): boolean {
  return chiSquareUniform(histogram(values, bins)) < chiSquareCritical(bins - 1);
}

/** True when two samples look drawn from the same distribution over [0, bins). */
export function sameDistribution(a: ArrayLike<number>, b: ArrayLike<number>, bins: number): boolean {
  const { stat, df } = chiSquareHomogeneity(histogram(a, bins), histogram(b, bins));
  return df <= 0 || stat < chiSquareCritical(df);
}
