import { useEffect, useState } from 'react';
import { api } from '../api.js';
import { CandleChart } from '../components/CandleChart.jsx';
import { Notice } from '../components/Notice.jsx';
import { Table } from '../components/Table.jsx';
import { money, num, time } from '../format.js';
import { usePoll } from '../usePoll.js';
import { useThrottledRefresh } from '../useThrottledRefresh.js';

function symbolFromHash() {
  const [, query] = window.location.hash.split('?');
  return query ? decodeURIComponent(query) : null;
}

export function SymbolScreen({ live }) {
  const book = usePoll(() => api('/portfolio'), 15000);
  const symbols = Object.keys(book.data?.prices || {}).sort();
  const [chosen, setChosen] = useState(symbolFromHash());
  useEffect(() => {
    if (!chosen && symbols.length) setChosen(symbols[0]);
  }, [chosen, symbols]);
  const q = encodeURIComponent(chosen || '');
  const bars = usePoll(() => (chosen ? api(`/bars?symbol=${q}&limit=120`) : Promise.resolve(null)), 5000, [chosen]);
  const decisions = usePoll(() => (chosen ? api(`/decisions?symbol=${q}&limit=200`) : Promise.resolve([])), 5000, [chosen]);
  const fills = usePoll(() => api('/fills?limit=1000'), 5000);
  const orders = usePoll(() => api('/orders?status=open'), 5000);
  useThrottledRefresh((live.events.fills || []).length, fills.refresh);
  const mine = (rows) => (rows || []).filter((r) => r.symbol === chosen);

  return (
    <section>
      <header className="screen-head">
        <h2>Symbol</h2>
        <div className="controls" role="tablist">
          {symbols.map((s) => (
            <button key={s} type="button" role="tab" aria-selected={s === chosen} className={s === chosen ? 'active' : ''} onClick={() => setChosen(s)} data-testid={`symbol-${s}`}>
              {s}
            </button>
          ))}
        </div>
      </header>
      <Notice error={bars.error || decisions.error} />
      <div className="card">
        <h3>
          {chosen || '…'} {bars.data ? `· ${bars.data.timeframe} · ${bars.data.bars.length} bars` : ''}
        </h3>
        <CandleChart
          bars={bars.data?.bars}
          fills={mine(fills.data)}
          orders={mine(orders.data)}
          decisions={decisions.data || []}
          testId="candles"
        />
        <p className="muted">green/red candles · blue SMA 10 · orange SMA 30 · grey Bollinger (20, 2) · triangles fills · dashed working orders</p>
      </div>
      <div className="grid2">
        <div className="card">
          <h3>Working orders</h3>
          <Table
            testId="symbol-orders"
            rows={mine(orders.data)}
            rowKey={(o) => o.client_order_id}
            empty="No working order."
            columns={[
              { label: 'Id', value: (o) => o.client_order_id },
              { label: 'Side', value: (o) => o.side },
              { label: 'Type', value: (o) => o.type },
              { label: 'Qty', value: (o) => num(o.qty, 6) },
              { label: 'Limit', value: (o) => money(o.limit_price) },
            ]}
          />
        </div>
        <div className="card">
          <h3>Fills</h3>
          <Table
            testId="symbol-fills"
            rows={mine(fills.data).slice(-10).reverse()}
            rowKey={(f) => f.fill_id}
            empty="No fill in this symbol."
            columns={[
              { label: 'Time', value: (f) => time(f.ts) },
              { label: 'Side', value: (f) => f.side, className: (f) => (f.side === 'buy' ? 'up' : 'down') },
              { label: 'Qty', value: (f) => num(f.qty, 6) },
              { label: 'Price', value: (f) => money(f.price) },
            ]}
          />
        </div>
      </div>
    </section>
  );
}
