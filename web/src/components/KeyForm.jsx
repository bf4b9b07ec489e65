import { useState } from 'react';
import { Notice } from './Notice.jsx';

// Asks for an API key; `onSubmit(key)` checks it against the API.
export function KeyForm({ onSubmit, message }) {
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(event) {
    event.preventDefault();
    setBusy(true);
    try {
      await onSubmit(key.trim());
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="key-form" onSubmit={submit}>
      <h1>SIGMAX</h1>
      <p>Enter an API key (create one with <code>sigmax keys create --scope read</code>). It is kept for this browser tab only.</p>
      <input
        type="password"
        name="api-key"
        placeholder="sgx_…"
        autoComplete="off"
        value={key}
        onChange={(e) => setKey(e.target.value)}
        data-testid="api-key-input"
      />
      <button type="submit" disabled={busy || !key.trim()} data-testid="api-key-submit">
        {busy ? 'Checking…' : 'Open dashboard'}
      </button>
      <Notice error={message} />
    </form>
  );
}
