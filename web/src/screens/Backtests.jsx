import { useEffect, useState } from 'react';
import { api } from '../api.js';
import { CandleChart } from '../components/CandleChart.jsx';
import { Notice } from '../components/Notice.jsx';
import { Table } from '../components/Table.jsx';
import { time } from '../format.js';
import { usePoll } from '../usePoll.js';

const DATA = ['bundled:BTC-USD-1d', 'bundled:BTC-USD-1h'];
const STRATEGIES = ['sma_cross', 'sigmax'];

function elapsed(job, now) {
  const end = job.finished_at ? new Date(job.finished_at) : now;
  return `${Math.round((end - new Date(job.submitted_at)) / 1000)} s`;
}

function LaunchForm({ onLaunched }) {
  const [form, setForm] = useState({ data: DATA[0], strategy: STRATEGIES[0], cash: '10000', fee_bps: '10' });
  const [error, setError] = useState(null);
  const set = (field) => (e) => setForm({ ...form, [field]: e.target.value });
  async function submit(event) {
    event.preventDefault();
    setError(null);
    try {
      onLaunched(await api('/jobs/backtest', { method: 'POST', body: form }));
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form className="inline-form" onSubmit={submit}>
      <label>
        Data
        <select value={form.data} onChange={set('data')}>
          {DATA.map((d) => <option key={d}>{d}</option>)}
        </select>
      </label>
      <label>
        Strategy
        <select value={form.strategy} onChange={set('strategy')}>
          {STRATEGIES.map((s) => <option key={s}>{s}</option>)}
        </select>
      </label>
      <label>
        Cash <input value={form.cash} onChange={set('cash')} size="8" />
      </label>
      <label>
        Fee (bps) <input value={form.fee_bps} onChange={set('fee_bps')} size="4" />
      </label>
      <button type="submit" data-testid="launch-backtest">Launch backtest</button>
      <Notice error={error} />
    </form>
  );
}

// The symbol view of a finished backtest: its bars as candles with its trades and the
// decision in force at each bar (the same chart as a session's symbol).
function BacktestChart({ jobId }) {
  const [doc, setDoc] = useState(null);
  const [bars, setBars] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setDoc(null);
    setBars(null);
    setError(null);
    api(`/jobs/${jobId}/result`).then(setDoc, setError);
    api(`/backtests/${jobId}/bars?limit=150`).then(setBars, setError);
  }, [jobId]);
  if (error) return <Notice error={error} />;
  if (!doc || !bars) return <p className="muted">Loading its bars…</p>;
  const symbol = bars.symbol;
  const fills = (doc.trades || [])
    .filter((t) => t.symbol === symbol)
    .map((t, i) => ({ ...t, fill_id: `${t.client_order_id}-${i}` }));
  const decisions = (doc.decisions || []).filter((d) => !d.symbol || d.symbol === symbol);
  return (
    <>
      <h4>
        {symbol} · {bars.timeframe} · last {bars.bars.length} bars · {fills.length} trades
      </h4>
      <CandleChart bars={bars.bars} fills={fills} decisions={decisions} testId="backtest-candles" />
    </>
  );
}

function Report({ jobId }) {
  const [html, setHtml] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    setHtml(null);
    api(`/jobs/${jobId}/report`).then(setHtml, setError);
  }, [jobId]);
  if (error) return <Notice error={error} />;
  if (!html) return <p className="muted">Loading the report…</p>;
  return <iframe title="backtest report" className="report" sandbox="allow-scripts" srcDoc={html} data-testid="backtest-report" />;
}

export function Backtests({ me }) {
  const [fast, setFast] = useState(false);
  const jobs = usePoll(() => api('/jobs'), fast ? 3000 : 15000, [fast]);
  const [open, setOpen] = useState(null);
  const backtests = (jobs.data || []).filter((j) => j.kind === 'backtest').reverse();
  const running = backtests.some((j) => j.status === 'running');
  useEffect(() => setFast(running), [running]);
  const now = new Date();
  return (
    <section>
      <header className="screen-head">
        <h2>Backtests</h2>
        <span className="muted">jobs run on the Ray cluster; click a finished one for its report</span>
      </header>
      {me.may_trade ? (
        <LaunchForm onLaunched={(job) => { setFast(true); setOpen(null); jobs.refresh(); return job; }} />
      ) : (
        <p className="muted">Launching needs a key with the trade scope.</p>
      )}
      <Notice error={jobs.error} />
      <div className="card">
        <Table
          testId="backtests"
          rows={backtests}
          rowKey={(j) => j.job_id}
          selectedKey={open}
          onRowClick={(j) => j.status === 'succeeded' && setOpen(j.job_id)}
          empty="No backtest yet."
          columns={[
            { label: 'Submitted', value: (j) => time(j.submitted_at) },
            { label: 'Job', value: (j) => j.job_id.slice(0, 8) },
            { label: 'Status', value: (j) => (j.status === 'running' ? 'running…' : j.status), className: (j) => (j.status === 'failed' ? 'down' : j.status === 'succeeded' ? 'up' : '') },
            { label: 'Time', value: (j) => elapsed(j, now) },
            { label: 'Error', value: (j) => j.error || '' },
          ]}
        />
      </div>
      {open && (
        <div className="card">
          <h3>Backtest {open.slice(0, 8)}</h3>
          <BacktestChart jobId={open} />
          <Report jobId={open} />
        </div>
      )}
    </section>
  );
}
