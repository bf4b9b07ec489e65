import { useEffect, useState } from 'react';
import { api } from '../api.js';
import { Circuit } from '../components/Circuit.jsx';
import { Notice } from '../components/Notice.jsx';
import { Stat } from '../components/Stat.jsx';
import { num, pct } from '../format.js';
import { useJob } from '../useJob.js';
import { usePoll } from '../usePoll.js';

const QAOA_REQUEST = { assets: ['BTC', 'ETH', 'LTC', 'XRP'], budget: 2, solver: 'qaoa' };

function Weights({ weights }) {
  const entries = Object.entries(weights).sort((a, b) => b[1] - a[1]);
  return (
    <div className="bars" data-testid="weights">
      {entries.map(([asset, w]) => (
        <div key={asset} className="bar-row">
          <span className="bar-label">{asset}</span>
          <span className="bar" style={{ width: `${Math.max(0.5, w * 100)}%` }} />
          <span className="bar-value">{pct(w, 1)}</span>
        </div>
      ))}
    </div>
  );
}

function RunOptimisation({ onDone }) {
  const [jobId, setJobId] = useState(null);
  const [error, setError] = useState(null);
  const { job, error: followError } = useJob(jobId);
  useEffect(() => {
    if (job && job.status !== 'running') onDone();
  }, [job, onDone]);
  async function start() {
    setError(null);
    try {
      setJobId((await api('/jobs/optimize', { method: 'POST', body: QAOA_REQUEST })).job_id);
    } catch (err) {
      setError(err);
    }
  }
  return (
    <div>
      <button type="button" onClick={start} disabled={job?.status === 'running'}>
        Run a QAOA optimisation (BTC, ETH, LTC, XRP; hold 2)
      </button>
      {job && <span className="muted"> job {job.status}{job.error ? `: ${job.error}` : ''}</span>}
      <Notice error={error || followError} />
    </div>
  );
}

export function Quantum({ me }) {
  const last = usePoll(() => api('/quantum/last'), 30000);
  const r = last.data;
  const q = r?.quantum;
  const none = last.error?.status === 404;
  return (
    <section>
      <header className="screen-head">
        <h2>Quantum portfolio optimisation</h2>
        {r && <span className="muted">solver {r.solver} (asked: {r.requested_solver})</span>}
      </header>
      {none ? <Notice kind="info">{last.error.message}</Notice> : <Notice error={last.error} />}
      {me.may_trade && <RunOptimisation onDone={last.refresh} />}
      {r && (
        <>
          <p>{r.reason}</p>
          <div className="stats">
            <Stat label="Chosen" value={r.selection.join(', ')} testId="selection" />
            <Stat label="Gap to exact" value={num(r.gap, 6)} testId="gap" />
            <Stat label="Relative gap" value={q ? pct(q.relative_gap, 2) : '–'} />
            <Stat label="Approximation ratio" value={q ? num(q.approximation_ratio, 4) : '–'} />
            <Stat label="P(optimum)" value={q ? pct(q.p_optimum, 1) : '–'} />
            <Stat label="Expected return / vol" value={`${pct(r.expected_return, 1)} / ${pct(r.volatility, 1)}`} />
          </div>
          <div className="grid2 wide-right">
            <div className="card">
              <h3>Chosen portfolio</h3>
              <Weights weights={r.weights} />
              <p className="muted">{r.weighting}</p>
            </div>
            <div className="card">
              <h3>Circuit</h3>
              {q ? (
                <>
                  <p className="muted">
                    {q.method}: {q.qubits} qubits, depth {q.depth}, {q.parameters} parameters, {q.iterations} iterations on{' '}
                    {q.device}
                  </p>
                  <Circuit qasm={q.qasm} />
                </>
              ) : (
                <p className="muted">The last optimisation ran no quantum circuit (classical solver).</p>
              )}
            </div>
          </div>
        </>
      )}
    </section>
  );
}
