import { useMemo } from 'react';
import { api } from '../api.js';
import { AgentGraph3D } from '../components/AgentGraph3D.jsx';
import { Notice } from '../components/Notice.jsx';
import { Table } from '../components/Table.jsx';
import { num, signClass, time } from '../format.js';
import { usePoll } from '../usePoll.js';

export function Agents({ live }) {
  const stored = usePoll(() => api('/decisions?limit=1'), 30000);
  const liveDecisions = live.events.decisions || [];
  const latest = liveDecisions[0]?.data || stored.data?.[stored.data.length - 1];
  const signalsKey = latest ? `${latest.ts}` : '';
  const { agents, signals, missing } = useMemo(() => {
    const bySignal = Object.fromEntries((latest?.signals || []).map((s) => [s.agent, s]));
    const names = [...new Set([...Object.keys(bySignal), ...(latest?.missing || [])])].sort();
    return { agents: names, signals: bySignal, missing: latest?.missing || [] };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [signalsKey]);

  return (
    <section>
      <header className="screen-head">
        <h2>Agents</h2>
        <span className="muted">{latest ? `latest decision ${time(latest.ts)}` : 'no decision yet'}</span>
      </header>
      <Notice error={stored.error} />
      {agents.length > 0 && <AgentGraph3D agents={agents} signals={signals} missing={missing} flowKey={liveDecisions.length} />}
      <div className="card">
        <Table
          testId="agents"
          rows={agents}
          rowKey={(a) => a}
          columns={[
            { label: 'Agent', value: (a) => a },
            { label: 'Health', value: (a) => (missing.includes(a) ? 'no answer' : 'ok'), className: (a) => (missing.includes(a) ? 'down' : 'up') },
            { label: 'Score', value: (a) => num(signals[a]?.score, 3), className: (a) => signClass(signals[a]?.score) },
            { label: 'Confidence', value: (a) => num(signals[a]?.confidence, 2) },
            { label: 'Rationale', value: (a) => signals[a]?.rationale || '–' },
          ]}
        />
      </div>
    </section>
  );
}
