import { useState } from 'react';
import { api } from '../api.js';
import { Notice } from '../components/Notice.jsx';
import { Table } from '../components/Table.jsx';
import { time } from '../format.js';
import { usePoll } from '../usePoll.js';

const SCOPES = ['read', 'trade', 'admin'];

function NewKey({ created, onDone }) {
  if (!created) return null;
  return (
    <div className="card new-key" role="status" data-testid="new-key">
      <h3>New key {created.name} (id {created.id})</h3>
      <p>Copy it now: it is shown this once and cannot be read back.</p>
      <code data-testid="new-key-value">{created.key}</code>
      <div>
        <button type="button" onClick={onDone}>
          I have stored it
        </button>
      </div>
    </div>
  );
}

function ApiKeys() {
  const keys = usePoll(() => api('/keys'), 10000);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState(['read']);
  const [expires, setExpires] = useState('');
  const [created, setCreated] = useState(null);
  const [error, setError] = useState(null);

  async function act(promise) {
    setError(null);
    try {
      const answer = await promise;
      if (answer?.key) setCreated(answer);
      keys.refresh();
    } catch (err) {
      setError(err);
    }
  }

  function create(event) {
    event.preventDefault();
    const body = { name: name.trim(), scopes, expires_days: expires ? Number(expires) : null };
    act(api('/keys', { method: 'POST', body }));
  }

  const toggle = (scope) =>
    setScopes(scopes.includes(scope) ? scopes.filter((s) => s !== scope) : [...scopes, scope]);

  return (
    <div className="card">
      <h3>API keys</h3>
      <Notice error={keys.error || error} />
      <NewKey created={created} onDone={() => setCreated(null)} />
      <form className="inline-form" onSubmit={create} data-testid="create-key-form">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={100} data-testid="key-name" />
        </label>
        <fieldset className="scopes">
          <legend>Scopes</legend>
          {SCOPES.map((s) => (
            <label key={s} className="check">
              <input type="checkbox" checked={scopes.includes(s)} onChange={() => toggle(s)} data-testid={`key-scope-${s}`} />
              {s}
            </label>
          ))}
        </fieldset>
        <label>
          Expires in days (empty: never)
          <input value={expires} onChange={(e) => setExpires(e.target.value)} size={5} />
        </label>
        <button type="submit" disabled={!name.trim() || scopes.length === 0} data-testid="create-key">
          Create key
        </button>
      </form>
      <Table
        testId="keys"
        rows={(keys.data || []).slice().reverse()}
        rowKey={(k) => k.id}
        empty="No key."
        columns={[
          { label: 'Id', value: (k) => k.id },
          { label: 'Name', value: (k) => k.name },
          { label: 'Prefix', value: (k) => <code>{k.prefix}</code> },
          { label: 'Scopes', value: (k) => k.scopes.join(', ') },
          { label: 'Created', value: (k) => time(k.created_at) },
          { label: 'Last used', value: (k) => time(k.last_used_at) },
          { label: 'Expires', value: (k) => (k.expires_at ? time(k.expires_at) : 'never') },
          {
            label: 'State',
            value: (k) => <span data-testid={`key-state-${k.id}`}>{k.revoked_at ? `revoked ${time(k.revoked_at)}` : 'active'}</span>,
            className: (k) => (k.revoked_at ? 'down' : 'up'),
          },
          {
            label: '',
            value: (k) =>
              k.revoked_at ? null : (
                <span className="controls">
                  <button type="button" onClick={() => act(api(`/keys/${k.id}/rotate`, { method: 'POST' }))} data-testid={`rotate-key-${k.id}`}>
                    Rotate
                  </button>
                  <button type="button" className="danger" onClick={() => act(api(`/keys/${k.id}/revoke`, { method: 'POST' }))} data-testid={`revoke-key-${k.id}`}>
                    Revoke
                  </button>
                </span>
              ),
          },
        ]}
      />
    </div>
  );
}

const EMPTY_CREDENTIAL = { name: '', exchange: 'binance', api_key: '', secret: '', password: '', sandbox: true };

function Credentials() {
  const list = usePoll(() => api('/credentials'), 15000);
  const [form, setForm] = useState(EMPTY_CREDENTIAL);
  const [error, setError] = useState(null);

  async function act(promise) {
    setError(null);
    try {
      await promise;
      list.refresh();
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  }

  async function add(event) {
    event.preventDefault();
    const body = { ...form, password: form.password || null };
    // the secrets leave the form as soon as they are sent: never kept or shown again
    if (await act(api('/credentials', { method: 'POST', body }))) setForm(EMPTY_CREDENTIAL);
    else setForm({ ...form, api_key: '', secret: '', password: '' });
  }

  const set = (name) => (e) => setForm({ ...form, [name]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });
  return (
    <div className="card">
      <h3>Exchange credentials</h3>
      <Notice error={list.error || error} />
      <form className="inline-form" onSubmit={add} autoComplete="off" data-testid="credential-form">
        <label>
          Name
          <input value={form.name} onChange={set('name')} data-testid="credential-name" />
        </label>
        <label>
          Exchange (ccxt id)
          <input value={form.exchange} onChange={set('exchange')} size={10} data-testid="credential-exchange" />
        </label>
        <label>
          API key
          <input type="password" value={form.api_key} onChange={set('api_key')} data-testid="credential-key" />
        </label>
        <label>
          Secret
          <input type="password" value={form.secret} onChange={set('secret')} data-testid="credential-secret" />
        </label>
        <label>
          Passphrase (some exchanges)
          <input type="password" value={form.password} onChange={set('password')} />
        </label>
        <label className="check">
          <input type="checkbox" checked={form.sandbox} onChange={set('sandbox')} />
          sandbox / testnet
        </label>
        <button type="submit" disabled={!form.name || !form.api_key || !form.secret} data-testid="add-credential">
          Add
        </button>
      </form>
      <Table
        testId="credentials"
        rows={list.data || []}
        rowKey={(c) => c.id}
        empty="No exchange credentials stored."
        columns={[
          { label: 'Name', value: (c) => c.name },
          { label: 'Exchange', value: (c) => `${c.exchange}${c.sandbox ? ' (sandbox)' : ''}` },
          { label: 'Key', value: (c) => <code>{c.hint}</code> },
          { label: 'Encrypted', value: (c) => `${c.cipher} ${c.key_ref}` },
          { label: 'Status', value: (c) => c.status, className: (c) => (c.status === 'ok' ? 'up' : c.status === 'untested' ? '' : 'down') },
          {
            label: 'Permissions',
            value: (c) =>
              c.permissions ? Object.entries(c.permissions).map(([k, v]) => `${k}: ${v == null ? '?' : v ? 'yes' : 'no'}`).join(', ') : '–',
          },
          { label: 'Tested', value: (c) => (c.tested_at ? time(c.tested_at) : 'never') },
          { label: 'Last error', value: (c) => c.last_error || '–' },
          {
            label: '',
            value: (c) => (
              <span className="controls">
                <button type="button" onClick={() => act(api(`/credentials/${c.id}/test`, { method: 'POST', body: { allow_withdraw: false } }))} data-testid={`test-credential-${c.id}`}>
                  Test
                </button>
                <button type="button" className="danger" onClick={() => act(api(`/credentials/${c.id}`, { method: 'DELETE' }))} data-testid={`remove-credential-${c.id}`}>
                  Remove
                </button>
              </span>
            ),
          },
        ]}
      />
    </div>
  );
}

export function Keys({ me }) {
  if (!me.may_admin) {
    return (
      <section>
        <h2>Keys & credentials</h2>
        <Notice>This screen needs a key with the admin scope.</Notice>
      </section>
    );
  }
  return (
    <section>
      <header className="screen-head">
        <h2>Keys & credentials</h2>
      </header>
      <ApiKeys />
      <Credentials />
    </section>
  );
}
