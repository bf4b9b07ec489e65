// An error or hint line; renders nothing without a message.
export function Notice({ error, kind = 'error', children }) {
  const text = error ? error.message || String(error) : children;
  if (!text) return null;
  return (
    <div className={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {text}
    </div>
  );
}
