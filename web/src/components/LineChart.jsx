// A small SVG line (or area) chart of [{x: Date|number, y: number}].
const W = 640;
const H = 180;
const PAD = { left: 64, right: 12, top: 10, bottom: 22 };

function scale(domain, range) {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

export function LineChart({ points, format = (v) => v.toFixed(2), area = false, color = '#4da3ff', testId }) {
  if (!points || points.length < 2) {
    return <p className="muted">Waiting for enough points to draw…</p>;
  }
  const xs = points.map((p) => +p.x);
  const ys = points.map((p) => p.y);
  let [lo, hi] = [Math.min(...ys), Math.max(...ys)];
  if (area) hi = Math.max(hi, 0);
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.01 || 0.01;
    [lo, hi] = [lo - pad, hi + pad];
  }
  const x = scale([Math.min(...xs), Math.max(...xs)], [PAD.left, W - PAD.right]);
  const y = scale([lo, hi], [H - PAD.bottom, PAD.top]);
  const line = points.map((p, i) => `${i ? 'L' : 'M'}${x(+p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join('');
  const fill = area ? `${line}L${x(xs[xs.length - 1]).toFixed(1)},${y(0)}L${x(xs[0]).toFixed(1)},${y(0)}Z` : null;
  const ticks = [lo, (lo + hi) / 2, hi];
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} data-testid={testId} role="img">
      {ticks.map((t) => (
        <g key={t}>
          <line x1={PAD.left} x2={W - PAD.right} y1={y(t)} y2={y(t)} className="grid" />
          <text x={PAD.left - 6} y={y(t) + 4} textAnchor="end" className="tick">
            {format(t)}
          </text>
        </g>
      ))}
      <text x={PAD.left} y={H - 4} className="tick">{new Date(xs[0]).toISOString().slice(0, 16)}</text>
      <text x={W - PAD.right} y={H - 4} textAnchor="end" className="tick">
        {new Date(xs[xs.length - 1]).toISOString().slice(0, 16)}
      </text>
      {fill && <path d={fill} fill={color} opacity="0.25" />}
      <path d={line} fill="none" stroke={color} strokeWidth="2" />
    </svg>
  );
}
