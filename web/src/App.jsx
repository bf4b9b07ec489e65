import { useEffect, useMemo, useState } from 'react';
import { api, UNAUTHORIZED_EVENT } from './api.js';
import { mergeCurve } from './equityCurve.js';
import { KeyForm } from './components/KeyForm.jsx';
import { forgetKey, loadKey, saveKey } from './session.js';
import { useHashScreen } from './useHashScreen.js';
import { useLiveFeed } from './useLiveFeed.js';
import { usePoll } from './usePoll.js';
import { Agents } from './screens/Agents.jsx';
import { Approvals } from './screens/Approvals.jsx';
import { Audit } from './screens/Audit.jsx';
import { Backtests } from './screens/Backtests.jsx';
import { Decisions } from './screens/Decisions.jsx';
import { Keys } from './screens/Keys.jsx';
import { Orders } from './screens/Orders.jsx';
import { Overview } from './screens/Overview.jsx';
import { Portfolio } from './screens/Portfolio.jsx';
import { Quantum } from './screens/Quantum.jsx';
import { RateLimits } from './screens/RateLimits.jsx';
import { Risk } from './screens/Risk.jsx';
import { Sessions } from './screens/Sessions.jsx';
import { SymbolScreen } from './screens/Symbol.jsx';

const SCREENS = {
  overview: ['Overview', Overview],
  portfolio: ['Portfolio', Portfolio],
  symbol: ['Symbol chart', SymbolScreen],
  sessions: ['Sessions', Sessions],
  approvals: ['Approvals', Approvals],
  decisions: ['Decisions', Decisions],
  agents: ['Agents', Agents],
  orders: ['Orders & fills', Orders],
  risk: ['Risk events', Risk],
  backtests: ['Backtests', Backtests],
  quantum: ['Quantum', Quantum],
  keys: ['Keys & credentials', Keys],
  audit: ['Audit trail', Audit],
  limits: ['Rate limits', RateLimits],
};

export function App() {
  const [key, setKey] = useState(loadKey());
  const [me, setMe] = useState(null);
  const [message, setMessage] = useState(null);

  useEffect(() => {
    const dropKey = (event) => {
      forgetKey();
      setKey(null);
      setMe(null);
      setMessage(event.detail);
    };
    window.addEventListener(UNAUTHORIZED_EVENT, dropKey);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, dropKey);
  }, []);

  useEffect(() => {
    if (key && !me) api('/dashboard/me', { key }).then(setMe, (err) => setMessage(err.message));
  }, [key, me]);

  async function logIn(candidate) {
    try {
      const who = await api('/dashboard/me', { key: candidate });
      saveKey(candidate);
      setMessage(null);
      setMe(who);
      setKey(candidate);
    } catch (err) {
      setMessage(err.message);
    }
  }

  function logOut() {
    forgetKey();
    setKey(null);
    setMe(null);
  }

  if (!key || !me) return <KeyForm onSubmit={logIn} message={message} />;
  return <Dashboard me={me} apiKey={key} onLogOut={logOut} />;
}

function Dashboard({ me, apiKey, onLogOut }) {
  const [screen, go] = useHashScreen(Object.keys(SCREENS));
  const live = useLiveFeed(apiKey);
  // Polled on every screen, so the curve keeps growing while another screen is open.
  const equity = usePoll(() => api('/dashboard/equity'), 5000);
  const curve = useMemo(() => mergeCurve(equity.data?.points), [equity.data]);
  const [, Screen] = SCREENS[screen];
  return (
    <div className="layout">
      <nav className="nav">
        <div className="brand">SIGMAX</div>
        {Object.entries(SCREENS).map(([id, [label]]) => (
          <a key={id} href={`#/${id}`} className={id === screen ? 'active' : ''} onClick={() => go(id)} data-testid={`nav-${id}`}>
            {label}
          </a>
        ))}
        <div className="nav-foot">
          <div className={`live ${live.status}`} data-testid="live-status">
            live: {live.status}
            {live.nextRetryS ? ` (retry in ${live.nextRetryS} s)` : ''}
          </div>
          <div className="muted">
            key {me.name || me.key_id} · {me.scopes.join(', ')}
          </div>
          <button type="button" className="link" onClick={onLogOut}>
            Forget key
          </button>
        </div>
      </nav>
      <main className="main" data-testid={`screen-${screen}`}>
        <Screen me={me} live={live} equity={{ ...equity, curve }} />
      </main>
    </div>
  );
}
