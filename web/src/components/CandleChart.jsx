import { useState } from 'react';
import { bollinger, decisionAt, sma } from '../indicators.js';
import { money, num, time } from '../format.js';

const W = 960;
const H = 320;
const PAD = { left: 70, right: 12, top: 10, bottom: 24 };

// Candles of [{ts, open, high, low, close}] with fills (triangles), working orders'
// limit prices (dashed lines), SMA 10/30 and Bollinger(20, 2); moving over a bar (or
// arrow keys while focused) shows it and the decision in force with every agent's signal.
export function CandleChart({ bars, fills = [], orders = [], decisions = [], testId }) {
  const [hover, setHover] = useState(null);
  if (!bars || bars.length < 2) return <p className="muted">Waiting for bars…</p>;
  const closes = bars.map((b) => b.close);
  const fast = sma(closes, 10);
  const slow = sma(closes, 30);
  const band = bollinger(closes, 20, 2);
  const prices = [...bars.flatMap((b) => [b.high, b.low]), ...orders.map((o) => Number(o.limit_price)).filter((v) => v > 0)];
  let lo = Math.min(...prices);
  let hi = Math.max(...prices);
  if (lo === hi) [lo, hi] = [lo * 0.99, hi * 1.01];
  const step = (W - PAD.left - PAD.right) / bars.length;
  const x = (i) => PAD.left + step * (i + 0.5);
  const y = (v) => PAD.top + ((hi - v) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const t0 = bars[0].ts;
  const spacing = bars.length > 1 ? bars[1].ts - bars[0].ts : 1;
  const indexOf = (ts) => Math.round((ts - t0) / spacing);
  const path = (series) =>
    series
      .map((v, i) => (v == null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`))
      .filter(Boolean)
      .map((p, i) => `${i ? 'L' : 'M'}${p}`)
      .join('');
  const shown = hover == null ? bars.length - 1 : hover;
  const bar = bars[shown];
  const decision = decisionAt(decisions, bar.ts + spacing);

  function onKey(e) {
    if (e.key === 'ArrowLeft') setHover(Math.max(0, shown - 1));
    else if (e.key === 'ArrowRight') setHover(Math.min(bars.length - 1, shown + 1));
    else return;
    e.preventDefault();
  }

  return (
    <div className="candle-wrap">
      <svg
        viewBox={`0 0 ${W} ${H}`}
        className="chart candles"
        data-testid={testId}
        tabIndex={0}
        role="img"
        aria-label={`candlestick chart, ${bars.length} bars; arrow keys move between bars`}
        onKeyDown={onKey}
        onMouseLeave={() => setHover(null)}
      >
        {[lo, (lo + hi) / 2, hi].map((v) => (
          <g key={v}>
            <line className="grid" x1={PAD.left} x2={W - PAD.right} y1={y(v)} y2={y(v)} />
            <text className="tick" x={PAD.left - 6} y={y(v) + 4} textAnchor="end">
              {money(v)}
            </text>
          </g>
        ))}
        <path d={path(band.upper)} className="band" />
        <path d={path(band.lower)} className="band" />
        <path d={path(fast)} className="sma-fast" />
        <path d={path(slow)} className="sma-slow" />
        {bars.map((b, i) => {
          const up = b.close >= b.open;
          const w = Math.max(1, step * 0.6);
          return (
            <g key={b.ts} className={up ? 'candle up' : 'candle down'} onMouseEnter={() => setHover(i)}>
              <rect x={x(i) - step / 2} y={PAD.top} width={step} height={H - PAD.top - PAD.bottom} className="hit" />
              <line x1={x(i)} x2={x(i)} y1={y(b.high)} y2={y(b.low)} />
              <rect x={x(i) - w / 2} y={y(Math.max(b.open, b.close))} width={w} height={Math.max(1, Math.abs(y(b.open) - y(b.close)))} />
            </g>
          );
        })}
        {orders
          .filter((o) => Number(o.limit_price) > 0)
          .map((o) => (
            <line key={o.client_order_id} className="working" x1={PAD.left} x2={W - PAD.right} y1={y(Number(o.limit_price))} y2={y(Number(o.limit_price))} />
          ))}
        {fills.map((f) => {
          const i = indexOf(new Date(f.ts).getTime());
          if (i < 0 || i >= bars.length) return null;
          const px = x(i);
          const py = y(Number(f.price));
          const d = f.side === 'buy' ? `M${px},${py + 2}l-5,9h10z` : `M${px},${py - 2}l-5,-9h10z`;
          return <path key={f.fill_id} d={d} className={`fill ${f.side}`} data-testid="chart-fill" />;
        })}
        {hover != null && <line className="cursor" x1={x(shown)} x2={x(shown)} y1={PAD.top} y2={H - PAD.bottom} />}
      </svg>
      <div className="candle-info" data-testid="candle-info" aria-live="polite">
        <strong>{time(bar.ts)}</strong> O {money(bar.open)} H {money(bar.high)} L {money(bar.low)} C {money(bar.close)}
        {fast[shown] != null && <span className="sma-fast-text"> · SMA10 {money(fast[shown])}</span>}
        {slow[shown] != null && <span className="sma-slow-text"> · SMA30 {money(slow[shown])}</span>}
        {decision ? (
          <div data-testid="bar-decision">
            decision {time(decision.ts)}: target {num(decision.target_position, 3)}
            {decision.approved === false ? ' (refused by risk)' : ''}
            <table className="table compact">
              <tbody>
                {decision.signals.map((s) => (
                  <tr key={s.agent}>
                    <td>{s.agent}</td>
                    <td className={s.score > 0 ? 'up' : s.score < 0 ? 'down' : ''}>{num(s.score, 3)}</td>
                    <td>conf {num(s.confidence, 2)}</td>
                    <td className="muted">{s.rationale}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <div className="muted">no decision in force at this bar</div>
        )}
      </div>
    </div>
  );
}
