import { Table } from '../components/Table.jsx';
import { num, signClass, time } from '../format.js';

function Verdict({ verdict, approved }) {
  if (!verdict) return <p className="muted">No risk verdict (the target did not change, so no order was proposed).</p>;
  const checks = verdict.checks || [];
  const rejected = verdict.approved === false || approved === false;
  const word = rejected ? 'rejected' : 'approved';
  return (
    <div>
      <p>
        <strong className={rejected ? 'down' : 'up'}>{word}</strong>
        {verdict.reason && verdict.reason !== word ? `: ${verdict.reason}` : ''}
      </p>
      {checks.length > 0 && (
        <ul className="checks">
          {checks.map((c) => (
            <li key={c.rule} className={c.passed ? 'up' : 'down'}>
              {c.passed ? '✓' : '✗'} {c.rule}
              {c.detail ? `: ${c.detail}` : ''}
            </li>
          ))}
        </ul>
      )}
      {checks.length === 0 && <pre className="json">{JSON.stringify(verdict, null, 2)}</pre>}
    </div>
  );
}

// Every agent's signal, the bull and bear cases, the arbitrator's rationale, the risk verdict.
export function DecisionDetail({ decision }) {
  return (
    <div className="card detail" data-testid="decision-detail">
      <h3>
        {decision.symbol} at {time(decision.ts)}: target {num(decision.target_position, 3)}
      </h3>
      <h4>Agents</h4>
      <Table
        rows={decision.signals}
        rowKey={(s) => s.agent}
        columns={[
          { label: 'Agent', value: (s) => s.agent },
          { label: 'Score', value: (s) => num(s.score, 3), className: (s) => signClass(s.score) },
          { label: 'Confidence', value: (s) => num(s.confidence, 2) },
          { label: 'Rationale', value: (s) => s.rationale },
        ]}
      />
      {decision.missing?.length > 0 && <p className="down">No answer from: {decision.missing.join(', ')}</p>}
      <div className="grid2">
        <div>
          <h4>Bull case</h4>
          <p className="up">{decision.bull_case}</p>
        </div>
        <div>
          <h4>Bear case</h4>
          <p className="down">{decision.bear_case}</p>
        </div>
      </div>
      <h4>Arbitrator</h4>
      <p>{decision.rationale}</p>
      <h4>Risk verdict</h4>
      <Verdict verdict={decision.risk_verdict} approved={decision.approved} />
    </div>
  );
}
