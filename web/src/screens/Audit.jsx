import { useState } from 'react';
import { api } from '../api.js';
import { Notice } from '../components/Notice.jsx';
import { Table } from '../components/Table.jsx';
import { usePoll } from '../usePoll.js';

const PAGE = 25;

export function Audit() {
  const streams = usePoll(() => api('/audit/streams'), 15000);
  const [stream, setStream] = useState('');
  const [query, setQuery] = useState('');
  const [search, setSearch] = useState('');
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState(null);
  const params = new URLSearchParams({ offset: String(offset), limit: String(PAGE) });
  if (stream) params.set('stream', stream);
  if (search) params.set('q', search);
  const page = usePoll(() => api(`/audit?${params}`), 10000, [stream, search, offset]);
  const p = page.data;

  function submit(event) {
    event.preventDefault();
    setOffset(0);
    setSearch(query.trim());
  }

  return (
    <section>
      <header className="screen-head">
        <h2>Audit trail</h2>
        {p && (
          <span className={`state ${p.verified ? 'running' : 'killed'}`} data-testid="chain-state">
            {p.verified ? `chain verified: ${p.total} records` : 'chain BROKEN'}
          </span>
        )}
      </header>
      <Notice error={streams.error || page.error} />
      {p && !p.verified && <Notice>{p.verify_error}</Notice>}
      {p && p.head_hash && (
        <p className="muted">
          stream {p.stream} · head <code data-testid="head-hash">{p.head_hash.slice(0, 16)}…</code>
        </p>
      )}
      <form className="inline-form" onSubmit={submit}>
        <label>
          Stream
          <select value={stream} onChange={(e) => { setStream(e.target.value); setOffset(0); }} data-testid="audit-stream">
            <option value="">the session's account</option>
            {(streams.data || []).map((s) => (
              <option key={s.stream} value={s.stream}>
                {s.stream} ({s.records})
              </option>
            ))}
          </select>
        </label>
        <label>
          Search kind or payload
          <input value={query} onChange={(e) => setQuery(e.target.value)} data-testid="audit-search" />
        </label>
        <button type="submit" data-testid="audit-search-submit">Search</button>
      </form>
      <div className="card">
        <Table
          testId="audit-records"
          rows={p?.records || []}
          rowKey={(r) => r.seq}
          selectedKey={open}
          onRowClick={(r) => setOpen(open === r.seq ? null : r.seq)}
          empty={p ? 'No record matches.' : 'Loading…'}
          columns={[
            { label: 'Seq', value: (r) => r.seq },
            { label: 'Time', value: (r) => r.ts.replace('T', ' ').slice(0, 23) },
            { label: 'Kind', value: (r) => r.kind },
            {
              label: 'Payload',
              value: (r) =>
                open === r.seq ? <pre className="json">{JSON.stringify(r.payload, null, 2)}</pre> : JSON.stringify(r.payload).slice(0, 120),
            },
            { label: 'Hash', value: (r) => <code title={`prev ${r.prev_hash}`}>{r.hash.slice(0, 12)}</code> },
          ]}
        />
        {p && (
          <div className="controls pager">
            <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))} data-testid="audit-newer">
              Newer
            </button>
            <span className="muted" data-testid="audit-range">
              {p.matched ? `${offset + 1}–${Math.min(offset + PAGE, p.matched)} of ${p.matched}` : '0 of 0'}
              {search ? ` matching “${search}”` : ''}
            </span>
            <button type="button" disabled={offset + PAGE >= p.matched} onClick={() => setOffset(offset + PAGE)} data-testid="audit-older">
              Older
            </button>
          </div>
        )}
      </div>
    </section>
  );
}
