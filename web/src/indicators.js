// Indicators drawn over the candles, from the bars' closes: simple moving averages (the
// trend analyst's crossover) and Bollinger bands (the mean-reversion analyst's z-score).
export function sma(values, n) {
  const out = new Array(values.length).fill(null);
  let sum = 0;
  for (let i = 0; i < values.length; i += 1) {
    sum += values[i];
    if (i >= n) sum -= values[i - n];
    if (i >= n - 1) out[i] = sum / n;
  }
  return out;
}

export function bollinger(values, n = 20, k = 2) {
  const mid = sma(values, n);
  const upper = new Array(values.length).fill(null);
  const lower = new Array(values.length).fill(null);
  for (let i = n - 1; i < values.length; i += 1) {
    let sq = 0;
    for (let j = i - n + 1; j <= i; j += 1) sq += (values[j] - mid[i]) ** 2;
    const sd = Math.sqrt(sq / n);
    upper[i] = mid[i] + k * sd;
    lower[i] = mid[i] - k * sd;
  }
  return { mid, upper, lower };
}

// The decision in force at each bar: the latest decision at or before the bar's time.
export function decisionAt(decisions, ts) {
  let found = null;
  for (const d of decisions) {
    const t = new Date(d.ts).getTime();
    if (t <= ts && (!found || t >= new Date(found.ts).getTime())) found = d;
  }
  return found;
}
