// The Decisions screen's list: stored decisions and the live stream merged.

// The stream and the REST answer spell times differently (+00:00 / Z): compare instants.
export const keyOf = (d) => `${d.symbol}@${new Date(d.ts).getTime()}`;

// Live decisions (WebSocket) and the stored ones, newest first, without repeats. Sorted
// by time: after a reconnect the stored ones fill the gap the stream missed.
export function merged(stored, live) {
  const byKey = new Map();
  for (const d of [...live.map((e) => e.data), ...(stored || [])]) {
    const k = keyOf(d);
    if (!byKey.has(k)) byKey.set(k, d);
  }
  const newestFirst = (a, b) => new Date(b.ts).getTime() - new Date(a.ts).getTime();
  return [...byKey.values()].sort(newestFirst).slice(0, 100);
}
