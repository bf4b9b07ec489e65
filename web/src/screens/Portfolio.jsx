import { api } from '../api.js';
import { Notice } from '../components/Notice.jsx';
import { Stat } from '../components/Stat.jsx';
import { Table } from '../components/Table.jsx';
import { money, num, pct, signClass, time } from '../format.js';
import { usePoll } from '../usePoll.js';
import { useThrottledRefresh } from '../useThrottledRefresh.js';

// Per symbol: position, mark, notional, share of equity, realized and unrealized P&L
// (from the portfolio actor's positions; nothing recomputed but the display shares).
export function symbolRows(book, positions, weights) {
  const symbols = new Set([...Object.keys(book?.prices || {}), ...Object.keys(weights || {}), ...(positions || []).map((p) => p.symbol)]);
  const equity = Number(book?.equity) || 0;
  return [...symbols].sort().map((symbol) => {
    const p = (positions || []).find((r) => r.symbol === symbol);
    const qty = Number(p?.qty ?? book?.positions?.[symbol] ?? 0);
    const mark = Number(p?.mark_price ?? book?.prices?.[symbol] ?? NaN);
    const notional = p?.notional != null ? Number(p.notional) : qty * mark;
    const unrealized = p && Number.isFinite(mark) ? (mark - Number(p.avg_price)) * qty : null;
    return {
      symbol,
      qty,
      avg: p?.avg_price,
      mark,
      notional,
      share: equity ? Math.abs(notional) / equity : null,
      realized: p?.realized_pnl ?? null,
      unrealized,
      weight: weights?.[symbol] ?? null,
    };
  });
}

export function Portfolio({ live }) {
  const status = usePoll(() => api('/status'), 10000);
  const book = usePoll(() => api('/portfolio'), 5000);
  const positions = usePoll(() => api('/positions'), 5000);
  const sessionId = status.data?.session_id;
  const session = usePoll(() => (sessionId ? api(`/sessions/${encodeURIComponent(sessionId)}`) : Promise.resolve(null)), 5000, [sessionId]);
  const changes = usePoll(() => api('/weights/changes?limit=5'), 15000);
  const fills = (live.events.fills || []).length;
  useThrottledRefresh(fills, book.refresh);
  useThrottledRefresh(fills, positions.refresh);
  const p = book.data;
  const s = session.data;
  const rows = symbolRows(p, positions.data, s?.weights);
  return (
    <section>
      <header className="screen-head">
        <h2>Portfolio</h2>
        {sessionId && <span className="muted">session {sessionId}</span>}
      </header>
      <Notice error={book.error || positions.error} />
      <div className="stats">
        <Stat label="Account equity" value={money(p?.equity)} testId="pf-equity" />
        <Stat label="Cash" value={money(p?.cash)} />
        <Stat label="Gross exposure" value={`${money(p?.exposure)} (${pct(p?.exposure_pct, 1)})`} />
        <Stat label="Realized P&L" value={money(p?.realized_pnl)} className={signClass(p?.realized_pnl)} />
        <Stat label="Unrealized P&L" value={money(p?.unrealized_pnl)} className={signClass(p?.unrealized_pnl)} />
        <Stat label="Fees" value={money(p?.fees_paid)} />
      </div>
      <div className="card">
        <h3>Per symbol</h3>
        <Table
          testId="pf-symbols"
          rows={rows}
          rowKey={(r) => r.symbol}
          onRowClick={(r) => { window.location.hash = `#/symbol?${encodeURIComponent(r.symbol)}`; }}
          empty="The session has no symbol yet."
          columns={[
            { label: 'Symbol', value: (r) => <a href={`#/symbol?${encodeURIComponent(r.symbol)}`}>{r.symbol}</a> },
            { label: 'Weight', value: (r) => (r.weight == null ? '–' : pct(r.weight, 1)) },
            { label: 'Qty', value: (r) => num(r.qty, 6) },
            { label: 'Avg price', value: (r) => money(r.avg) },
            { label: 'Mark', value: (r) => money(r.mark) },
            { label: 'Notional', value: (r) => money(r.notional) },
            { label: 'Exposure', value: (r) => (r.share == null ? '–' : pct(r.share, 1)) },
            { label: 'Realized', value: (r) => money(r.realized), className: (r) => signClass(r.realized) },
            { label: 'Unrealized', value: (r) => money(r.unrealized), className: (r) => signClass(r.unrealized) },
          ]}
        />
        <p className="muted" data-testid="pf-weights">
          {s ? (
            <>
              weights{' '}
              {Object.entries(s.weights || {})
                .map(([sym, w]) => `${sym} ${pct(w, 1)}`)
                .join(', ') || '–'}{' '}
              · {s.weights_source ? `last set by ${s.weights_source}` : 'the session\'s starting split'}
              {' · '}
              {changes.data?.length
                ? `last changed ${time(changes.data[0].ts)} (${changes.data.length === 5 ? '5+' : changes.data.length} reruns)`
                : 'not changed by the optimiser since the start'}
              {s.last_bar ? ` · in force at the last bar ${time(s.last_bar)}` : ''}
            </>
          ) : (
            'weights: waiting for the session status…'
          )}
        </p>
      </div>
      <div className="card">
        <h3>Open positions</h3>
        <Table
          testId="pf-positions"
          rows={rows.filter((r) => r.qty !== 0)}
          rowKey={(r) => r.symbol}
          empty="Flat in every symbol."
          columns={[
            { label: 'Symbol', value: (r) => r.symbol },
            { label: 'Side', value: (r) => (r.qty > 0 ? 'long' : 'short'), className: (r) => (r.qty > 0 ? 'up' : 'down') },
            { label: 'Qty', value: (r) => num(Math.abs(r.qty), 6) },
            { label: 'Notional', value: (r) => money(r.notional) },
          ]}
        />
      </div>
    </section>
  );
}
