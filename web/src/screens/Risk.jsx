import { api } from '../api.js';
import { Notice } from '../components/Notice.jsx';
import { Table } from '../components/Table.jsx';
import { time } from '../format.js';
import { usePoll } from '../usePoll.js';
import { useThrottledRefresh } from '../useThrottledRefresh.js';

function describe(event) {
  const p = event.payload || {};
  if (event.kind === 'state_change') return `${p.from} → ${p.to} by ${p.operator}: ${p.reason ?? ''}`;
  return Object.entries(p)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join(', ');
}

export function Risk({ live }) {
  const status = usePoll(() => api('/risk/status'), 10000);
  const events = usePoll(() => api('/risk/events?limit=100'), 15000);
  const limits = usePoll(() => api('/risk/limits'), 60000);
  const count = (live.events.risk || []).length;
  useThrottledRefresh(count, status.refresh, 500);
  useThrottledRefresh(count, events.refresh, 1000);
  return (
    <section>
      <header className="screen-head">
        <h2>Risk</h2>
        <span className={`state ${status.data?.state}`} data-testid="risk-state">
          {status.data?.state ?? '…'}
        </span>
        {status.data?.reason && <span className="muted">{status.data.reason}</span>}
      </header>
      <Notice error={status.error || events.error} />
      <div className="grid2 wide-left">
        <div className="card">
          <h3>Risk events</h3>
          <Table
            testId="risk-events"
            rows={[...(events.data || [])].reverse()}
            rowKey={(e) => e.seq}
            empty="No state or limit change yet."
            columns={[
              { label: '#', value: (e) => e.seq },
              { label: 'Time', value: (e) => time(e.ts) },
              { label: 'Kind', value: (e) => e.kind },
              { label: 'What', value: describe },
            ]}
          />
        </div>
        <div className="card">
          <h3>Limits</h3>
          <Table
            rows={Object.entries(limits.data || {})}
            rowKey={([k]) => k}
            columns={[
              { label: 'Limit', value: ([k]) => k },
              { label: 'Value', value: ([, v]) => (v == null ? 'off' : String(typeof v === 'object' ? JSON.stringify(v) : v)) },
            ]}
          />
        </div>
      </div>
    </section>
  );
}
