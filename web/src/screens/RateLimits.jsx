import { api } from '../api.js';
import { Notice } from '../components/Notice.jsx';
import { Table } from '../components/Table.jsx';
import { usePoll } from '../usePoll.js';

export function RateLimits() {
  const use = usePoll(() => api('/ratelimits'), 5000);
  const keys = usePoll(() => api('/keys'), 30000);
  const names = Object.fromEntries((keys.data || []).map((k) => [k.id, k.name]));
  const rows = (use.data || []).slice().sort((a, b) => b.used / b.limit - a.used / a.limit);
  return (
    <section>
      <header className="screen-head">
        <h2>Rate limits</h2>
        <span className="muted">as this API replica counted them; refreshed every 5 s</span>
      </header>
      <Notice error={use.error} />
      <div className="card">
        <Table
          testId="rate-limits"
          rows={rows}
          rowKey={(r) => `${r.who}:${r.endpoint_class}`}
          empty="No request counted yet."
          columns={[
            { label: 'Caller', value: (r) => (r.key_id != null ? `key ${r.key_id} (${names[r.key_id] || '?'})` : r.who) },
            { label: 'Class', value: (r) => r.endpoint_class },
            {
              label: 'Use in window',
              value: (r) => (
                <span className="bar-row meter-row">
                  <span>{r.used}/{r.limit}</span>
                  <span className="meter" role="meter" aria-valuemin={0} aria-valuemax={r.limit} aria-valuenow={r.used} aria-label={`${r.endpoint_class} use`}>
                    <span style={{ width: `${Math.min(100, (100 * r.used) / r.limit)}%`, background: r.used >= r.limit ? 'var(--down)' : undefined }} />
                  </span>
                  <span className="muted">{r.window_s} s</span>
                </span>
              ),
            },
            { label: '429s', value: (r) => r.refused, className: (r) => (r.refused ? 'down' : '') },
          ]}
        />
      </div>
    </section>
  );
}
