// The equity curve seen so far in this tab: the API's points (stored batches plus
// the latest mark) merged by time, kept across screen changes.
const byTime = new Map();

export function mergeCurve(points) {
  for (const p of points || []) byTime.set(p.ts, p);
  return [...byTime.values()].sort((a, b) => new Date(a.ts) - new Date(b.ts));
}
