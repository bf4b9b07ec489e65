import { useState } from 'react';
import { api } from '../api.js';
import { Notice } from '../components/Notice.jsx';

// Pause, resume and the kill switch through /risk/*; shown to admin keys only.
export function TradingControls({ state, onChanged }) {
  const [error, setError] = useState(null);
  const [armed, setArmed] = useState(false);

  async function act(path, body) {
    setError(null);
    try {
      await api(path, { method: 'POST', body });
      setArmed(false);
      onChanged();
    } catch (err) {
      setError(err);
    }
  }

  const reason = 'from the web dashboard';
  return (
    <div className="controls">
      {state === 'running' && (
        <button type="button" onClick={() => act('/risk/pause', { reason })} data-testid="pause">
          Pause
        </button>
      )}
      {state === 'paused' && (
        <button type="button" onClick={() => act('/risk/resume', { force: false })} data-testid="resume">
          Resume
        </button>
      )}
      {state !== 'killed' && !armed && (
        <button type="button" className="danger" onClick={() => setArmed(true)} data-testid="kill">
          Kill switch
        </button>
      )}
      {armed && (
        <>
          <button type="button" className="danger" onClick={() => act('/risk/kill', { reason })} data-testid="kill-confirm">
            Confirm: reject every order
          </button>
          <button type="button" onClick={() => setArmed(false)}>
            Cancel
          </button>
        </>
      )}
      {state === 'killed' && (
        <button type="button" onClick={() => act('/risk/kill/release')} data-testid="release">
          Release kill switch
        </button>
      )}
      <Notice error={error} />
    </div>
  );
}
