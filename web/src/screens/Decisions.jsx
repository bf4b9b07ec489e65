import { useState } from 'react';
import { api } from '../api.js';
import { Notice } from '../components/Notice.jsx';
import { Table } from '../components/Table.jsx';
import { num, signClass, time } from '../format.js';
import { usePoll } from '../usePoll.js';
import { DecisionDetail } from './DecisionDetail.jsx';
import { keyOf, merged } from '../decisionList.js';

export function Decisions({ live }) {
  const stored = usePoll(() => api('/decisions?limit=50'), 30000);
  const [selected, setSelected] = useState(null);
  const rows = merged(stored.data, live.events.decisions || []);
  const chosen = rows.find((d) => keyOf(d) === selected);
  return (
    <section>
      <header className="screen-head">
        <h2>Decisions</h2>
        <span className="muted">{(live.events.decisions || []).length} live since this page opened; click one to open it</span>
      </header>
      <Notice error={stored.error} />
      <div className="grid2 wide-right">
        <div className="card scroll">
          <Table
            testId="decisions"
            rows={rows}
            rowKey={keyOf}
            selectedKey={selected}
            onRowClick={(_, k) => setSelected(k)}
            empty="No decision yet."
            columns={[
              { label: 'Time', value: (d) => time(d.ts) },
              { label: 'Target', value: (d) => num(d.target_position, 3), className: (d) => signClass(d.target_position) },
              { label: 'Signals', value: (d) => d.signals.length },
              { label: 'Risk', value: (d) => (d.risk_verdict ? (d.risk_verdict.approved === false ? 'rejected' : 'approved') : '–') },
            ]}
          />
        </div>
        {chosen ? <DecisionDetail decision={chosen} /> : <p className="muted">Select a decision.</p>}
      </div>
    </section>
  );
}
