import { useCallback, useEffect, useRef, useState } from 'react';

// Calls `load()` now, then every `everyMs`; after a 429 waits Retry-After instead.
// `refresh()` asks again at once. Keeps the last good data when a call fails.
export function usePoll(load, everyMs, deps = []) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const timer = useRef(null);
  const alive = useRef(true);
  const loadRef = useRef(load);
  loadRef.current = load;

  const run = useCallback(async () => {
    clearTimeout(timer.current);
    let wait = everyMs;
    try {
      const value = await loadRef.current();
      if (!alive.current) return;
      setData(value);
      setError(null);
    } catch (err) {
      if (!alive.current) return;
      setError(err);
      if (err.status === 429 && err.retryAfterS) wait = Math.max(wait, err.retryAfterS * 1000);
    }
    if (alive.current && everyMs) timer.current = setTimeout(run, wait);
  }, [everyMs]);

  useEffect(() => {
    alive.current = true;
    run();
    return () => {
      alive.current = false;
      clearTimeout(timer.current);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [run, ...deps]);

  return { data, error, refresh: run };
}
