import { useState } from 'react';
import { api } from '../api.js';
import { Notice } from '../components/Notice.jsx';
import { Table } from '../components/Table.jsx';
import { money, time } from '../format.js';
import { usePoll } from '../usePoll.js';

const DEFAULT_LEGS = 'bundled:ETH-USD-30m ETH/USD\nbundled:LTC-USD-30m LTC/USD\nbundled:XRP-USD-30m XRP/USD';

// "SOURCE SYMBOL" per line -> [{data, symbol}]
export function parseLegs(text) {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [data, symbol] = line.split(/\s+/);
      return { data, symbol };
    });
}

function venueText(venue) {
  if (!venue) return 'starting…';
  const parts = [venue.kind];
  if (venue.testnet) parts.push('testnet');
  if (venue.dry_run) parts.push('dry run');
  if (venue.live) parts.push('LIVE: real money');
  return parts.join(' · ');
}

function reconciliationText(venue) {
  if (!venue) return '–';
  if (!venue.reconciliation) return venue.kind.startsWith('ccxt:') ? 'not reconciled' : 'n/a (simulated venue)';
  return JSON.stringify(venue.reconciliation);
}

export function Sessions({ me }) {
  const sessions = usePoll(() => api('/sessions'), 3000);
  const [form, setForm] = useState({
    session_id: `web-${Date.now().toString(36)}`,
    legs: DEFAULT_LEGS,
    timeframe: '1h',
    start: '3000',
    bars: '1000',
    speed: '2',
    strategy: 'sigmax',
    venue: 'paper',
  });
  const [confirmLive, setConfirmLive] = useState(false);
  const [error, setError] = useState(null);
  const [started, setStarted] = useState(null);
  const [selected, setSelected] = useState(null);
  const live = form.venue.startsWith('ccxt:') && confirmLive;

  const set = (name) => (e) => setForm({ ...form, [name]: e.target.value });

  async function start(event) {
    event.preventDefault();
    setError(null);
    try {
      const body = {
        session_id: form.session_id.trim(),
        legs: parseLegs(form.legs),
        timeframe: form.timeframe,
        start: Number(form.start),
        bars: form.bars === '' ? null : Number(form.bars),
        speed: Number(form.speed),
        strategy: form.strategy.trim(),
        venue: form.venue.trim() || null,
        live,
      };
      const answer = await api('/sessions', { method: 'POST', body });
      setStarted(answer);
      setSelected(answer.session_id);
      sessions.refresh();
    } catch (err) {
      setError(err);
    }
  }

  async function stop(id) {
    setError(null);
    try {
      await api(`/sessions/${encodeURIComponent(id)}/stop`, { method: 'POST' });
      sessions.refresh();
    } catch (err) {
      setError(err);
    }
  }

  const rows = sessions.data || [];
  const followed = rows.find((s) => s.session_id === selected);
  return (
    <section>
      <header className="screen-head">
        <h2>Sessions</h2>
      </header>
      <Notice error={sessions.error || error} />
      <div className="card">
        <h3>Running sessions</h3>
        <Table
          testId="sessions"
          rows={rows}
          rowKey={(s) => s.session_id}
          selectedKey={selected}
          onRowClick={(s) => setSelected(s.session_id)}
          empty="No session actor runs on the cluster."
          columns={[
            { label: 'Session', value: (s) => s.session_id },
            { label: 'State', value: (s) => <span data-testid={`session-state-${s.session_id}`}>{s.state}</span> },
            {
              label: 'Venue',
              value: (s) => <span className={s.venue?.live ? 'live-venue' : ''}>{venueText(s.venue)}</span>,
            },
            { label: 'Reconciliation', value: (s) => reconciliationText(s.venue) },
            { label: 'Bars', value: (s) => s.bars },
            { label: 'Left', value: (s) => s.remaining ?? '–' },
            { label: 'Last bar', value: (s) => time(s.last_bar) },
            { label: 'Equity', value: (s) => money(s.equity) },
            {
              label: '',
              value: (s) =>
                me.may_trade && !['stopped', 'done', 'failed'].includes(s.state) ? (
                  <button type="button" onClick={(e) => { e.stopPropagation(); stop(s.session_id); }} data-testid={`stop-${s.session_id}`}>
                    Stop
                  </button>
                ) : null,
            },
          ]}
        />
      </div>
      {followed && (
        <div className="card" data-testid="session-follow">
          <h3>Following {followed.session_id}</h3>
          <p>
            {followed.state} · {followed.bars} bars · last bar {time(followed.last_bar)} · equity {money(followed.equity)}
            {followed.error && <span className="down"> · error: {followed.error}</span>}
          </p>
          <p className="muted">
            weights {Object.entries(followed.weights || {}).map(([s, w]) => `${s} ${(w * 100).toFixed(1)}%`).join(', ') || '–'}
            {followed.weights_source ? ` (set by ${followed.weights_source})` : ''}
          </p>
        </div>
      )}
      {me.may_trade && (
        <form className={`card start-form ${live ? 'live-venue' : ''}`} onSubmit={start} data-testid="start-session-form">
          <h3>Start a session</h3>
          <div className="inline-form">
            <label>
              Session id
              <input value={form.session_id} onChange={set('session_id')} data-testid="session-id" />
            </label>
            <label>
              Timeframe
              <input value={form.timeframe} onChange={set('timeframe')} size={4} />
            </label>
            <label>
              First step
              <input value={form.start} onChange={set('start')} size={6} data-testid="session-start" />
            </label>
            <label>
              Steps (empty: to the end)
              <input value={form.bars} onChange={set('bars')} size={6} data-testid="session-bars" />
            </label>
            <label>
              Steps per second (0: full speed)
              <input value={form.speed} onChange={set('speed')} size={4} data-testid="session-speed" />
            </label>
            <label>
              Strategy (name or FILE.py:Class)
              <input value={form.strategy} onChange={set('strategy')} data-testid="session-strategy" />
            </label>
            <label>
              Venue
              <input list="venues" value={form.venue} onChange={set('venue')} data-testid="session-venue" />
              <datalist id="venues">
                <option value="paper" />
                <option value="dry-run" />
                <option value="ccxt:binance" />
              </datalist>
            </label>
          </div>
          <label className="block">
            Data and symbol, one pair a line (SOURCE SYMBOL)
            <textarea rows={4} value={form.legs} onChange={set('legs')} data-testid="session-legs" />
          </label>
          {form.venue.startsWith('ccxt:') && (
            <label className="live-confirm">
              <input type="checkbox" checked={confirmLive} onChange={(e) => setConfirmLive(e.target.checked)} data-testid="session-live" />
              Trade real money on {form.venue} (off testnet). Orders this session sends are real.
            </label>
          )}
          <button type="submit" className={live ? 'danger' : ''} data-testid="start-session">
            {live ? 'Start LIVE session' : 'Start session'}
          </button>
          {started && <p className="muted" data-testid="session-started">started {started.session_id}: {started.state}</p>}
        </form>
      )}
    </section>
  );
}
