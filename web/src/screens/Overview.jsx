import { api } from '../api.js';
import { LineChart } from '../components/LineChart.jsx';
import { Notice } from '../components/Notice.jsx';
import { Stat } from '../components/Stat.jsx';
import { Table } from '../components/Table.jsx';
import { money, num, pct, signClass, time } from '../format.js';
import { usePoll } from '../usePoll.js';
import { useThrottledRefresh } from '../useThrottledRefresh.js';
import { TradingControls } from './TradingControls.jsx';

export function Overview({ me, live, equity }) {
  const status = usePoll(() => api('/status'), 5000);
  const book = usePoll(() => api('/portfolio'), 5000);
  const positions = usePoll(() => api('/positions'), 10000);
  const fills = live.events.fills || [];
  // a fill changes the book and the positions: both refresh with it, so they agree
  useThrottledRefresh(fills.length, book.refresh);
  useThrottledRefresh(fills.length, positions.refresh);
  useThrottledRefresh((live.events.risk || []).length, status.refresh, 500);

  const state = status.data?.risk?.state ?? (status.data && !status.data.session_running ? 'no session' : '…');
  const p = book.data;
  const eq = equity.data;
  const { curve } = equity;
  const points = curve.map((pt) => ({ x: new Date(pt.ts), y: pt.equity }));
  const drawdown = curve.map((pt) => ({ x: new Date(pt.ts), y: pt.drawdown }));

  return (
    <section>
      <header className="screen-head">
        <h2>Overview</h2>
        <span className={`state ${state}`} data-testid="trading-state">
          {state}
        </span>
        {me.may_admin && status.data?.risk && <TradingControls state={state} onChanged={status.refresh} />}
      </header>
      {status.data?.risk?.reason && <p className="muted">reason: {status.data.risk.reason}</p>}
      <Notice error={status.error || book.error} />
      <div className="stats">
        <Stat label="Equity" value={money(p?.equity)} testId="equity" />
        <Stat label="P&L today" value={money(eq?.pnl_today)} className={signClass(eq?.pnl_today)} testId="pnl-today" />
        <Stat label="Drawdown" value={pct(eq?.drawdown)} className={signClass(eq?.drawdown)} testId="drawdown" />
        <Stat label="Exposure" value={`${money(p?.exposure)} (${pct(p?.exposure_pct, 1)})`} testId="exposure" />
        <Stat label="Realized / unrealized" value={`${money(p?.realized_pnl)} / ${money(p?.unrealized_pnl)}`} />
        <Stat label="Fills" value={p?.fills ?? '–'} testId="fills-count" />
        <Stat label="Bars left" value={status.data?.remaining_bars ?? '–'} />
      </div>
      <div className="grid2">
        <div className="card">
          <h3>Equity</h3>
          <LineChart points={points} format={(v) => money(v, 0)} testId="equity-chart" />
        </div>
        <div className="card">
          <h3>Drawdown</h3>
          <LineChart points={drawdown} format={(v) => pct(v, 1)} area color="#ff6b6b" testId="drawdown-chart" />
        </div>
      </div>
      <div className="grid2">
        <div className="card">
          <h3>Open positions</h3>
          <Table
            testId="positions"
            rows={(positions.data || []).filter((r) => Number(r.qty) !== 0)}
            rowKey={(r) => r.symbol}
            empty="Flat: no open position."
            columns={[
              { label: 'Symbol', value: (r) => r.symbol },
              { label: 'Qty', value: (r) => num(r.qty, 6) },
              { label: 'Avg price', value: (r) => money(r.avg_price) },
              { label: 'Mark', value: (r) => money(r.mark_price) },
              { label: 'Notional', value: (r) => money(r.notional) },
            ]}
          />
        </div>
        <div className="card">
          <h3>Live fills</h3>
          <Table
            testId="live-fills"
            rows={fills.slice(0, 8)}
            rowKey={(f) => f.id}
            empty="No fill since this page opened."
            columns={[
              { label: 'Time', value: (f) => time(f.data.ts) },
              { label: 'Side', value: (f) => f.data.side, className: (f) => (f.data.side === 'buy' ? 'up' : 'down') },
              { label: 'Qty', value: (f) => num(f.data.qty, 6) },
              { label: 'Price', value: (f) => money(f.data.price) },
              { label: 'Fee', value: (f) => money(f.data.fee) },
            ]}
          />
        </div>
      </div>
    </section>
  );
}
