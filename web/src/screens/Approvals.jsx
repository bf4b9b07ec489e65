import { useEffect, useState } from 'react';
import { api } from '../api.js';
import { Notice } from '../components/Notice.jsx';
import { Table } from '../components/Table.jsx';
import { money, num, time } from '../format.js';
import { usePoll } from '../usePoll.js';
import { useThrottledRefresh } from '../useThrottledRefresh.js';

function useNow(everyMs = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

export function countdown(expiresAt, now) {
  const left = Math.round((new Date(expiresAt).getTime() - now) / 1000);
  if (left <= 0) return 'expired';
  const m = Math.floor(left / 60);
  const s = left % 60;
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m}:${String(s).padStart(2, '0')}`;
}

function Checks({ verdict }) {
  if (!verdict) return <span className="muted">–</span>;
  const checks = verdict.checks || [];
  return (
    <ul className="checks">
      <li className={verdict.approved ? 'up' : 'down'}>{verdict.approved ? 'approved by risk' : 'refused by risk'}</li>
      {checks.map((c, i) => (
        <li key={c.name || i} className={c.passed === false ? 'down' : ''}>
          {c.name || c.rule}: {c.passed === false ? 'failed' : 'ok'} {c.detail || c.reason || ''}
        </li>
      ))}
    </ul>
  );
}

export function Approvals({ me, live }) {
  const pending = usePoll(() => api('/proposals?status=pending&limit=200'), 5000);
  const recent = usePoll(() => api('/proposals?limit=30'), 10000);
  const events = (live.events.proposals || []).length;
  useThrottledRefresh(events, pending.refresh, 300);
  useThrottledRefresh(events, recent.refresh, 300);
  const now = useNow();
  const [selected, setSelected] = useState(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState(null);
  const [result, setResult] = useState(null);

  const rows = (pending.data || []).slice().reverse();
  const chosen = rows.find((p) => p.id === selected) || null;

  async function decide(action) {
    if (!chosen) return;
    setError(null);
    setResult(null);
    try {
      const body = reason.trim() ? { reason: reason.trim() } : undefined;
      const answer = await api(`/proposals/${encodeURIComponent(chosen.id)}/${action}`, { method: 'POST', body });
      const proposal = answer.proposal || answer;
      setResult(`${proposal.id}: ${proposal.status}${answer.executed_now ? ' (sent now)' : ''}`);
      setSelected(null);
      setReason('');
      pending.refresh();
      recent.refresh();
    } catch (err) {
      setError(err);
    }
  }

  const finished = (recent.data || []).filter((p) => p.status !== 'pending').slice(-10).reverse();
  return (
    <section>
      <header className="screen-head">
        <h2>Approvals</h2>
        <span className="muted" data-testid="pending-count">{rows.length} pending</span>
      </header>
      <Notice error={pending.error || error} />
      {result && <Notice kind="info">{result}</Notice>}
      <div className="card">
        <h3>Pending proposals</h3>
        <Table
          testId="proposals"
          rows={rows}
          rowKey={(p) => p.id}
          selectedKey={selected}
          onRowClick={(p) => setSelected(p.id)}
          empty="No proposal waits for a decision (the session proposes when its target changes)."
          columns={[
            { label: 'Proposed', value: (p) => time(p.created_at) },
            { label: 'Symbol', value: (p) => p.symbol },
            { label: 'Order', value: (p) => `${p.order.side} ${num(p.order.qty, 6)}`, className: (p) => (p.order.side === 'buy' ? 'up' : 'down') },
            { label: 'At', value: (p) => money(p.reference_price) },
            { label: 'Target', value: (p) => num(p.decision.target_position, 3) },
            { label: 'Expires in', value: (p) => countdown(p.expires_at, now) },
          ]}
        />
      </div>
      {chosen && (
        <div className="card" data-testid="proposal-detail">
          <h3>
            {chosen.symbol}: {chosen.order.side} {num(chosen.order.qty, 6)} ({chosen.id})
          </h3>
          <div className="grid2">
            <div>
              <h4>Decision</h4>
              <p>{chosen.decision.rationale}</p>
              <Table
                rows={chosen.decision.signals || []}
                rowKey={(s) => s.agent}
                columns={[
                  { label: 'Agent', value: (s) => s.agent },
                  { label: 'Score', value: (s) => num(s.score, 3), className: (s) => (s.score > 0 ? 'up' : s.score < 0 ? 'down' : '') },
                  { label: 'Confidence', value: (s) => num(s.confidence, 2) },
                ]}
              />
            </div>
            <div>
              <h4>Risk checks when proposed</h4>
              <Checks verdict={chosen.proposed_verdict} />
            </div>
          </div>
          {me.may_trade ? (
            <div className="inline-form">
              <label>
                Reason (kept in the audit log)
                <input value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} data-testid="proposal-reason" />
              </label>
              <button type="button" onClick={() => decide('approve')} data-testid="approve">
                Approve
              </button>
              <button type="button" className="danger" onClick={() => decide('reject')} data-testid="reject">
                Reject
              </button>
            </div>
          ) : (
            <p className="muted">This key may read proposals; approving needs the trade scope.</p>
          )}
        </div>
      )}
      <div className="card">
        <h3>Recently decided</h3>
        <Table
          testId="decided-proposals"
          rows={finished}
          rowKey={(p) => p.id}
          empty="None yet."
          columns={[
            { label: 'Id', value: (p) => p.id },
            { label: 'Symbol', value: (p) => p.symbol },
            { label: 'Status', value: (p) => p.status },
            { label: 'By', value: (p) => p.decided_by || '–' },
            { label: 'Reason', value: (p) => p.reason || p.decision_reason || '–' },
          ]}
        />
      </div>
    </section>
  );
}
