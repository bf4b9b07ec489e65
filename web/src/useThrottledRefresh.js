import { useEffect, useRef } from 'react';

// Calls `refresh()` when `signal` changes (e.g. a live event arrived), at most once
// every `minGapMs`, so a burst of events costs one request.
export function useThrottledRefresh(signal, refresh, minGapMs = 2000) {
  const last = useRef(0);
  const pending = useRef(null);
  useEffect(() => {
    if (!signal) return undefined;
    const wait = Math.max(0, last.current + minGapMs - Date.now());
    clearTimeout(pending.current);
    pending.current = setTimeout(() => {
      last.current = Date.now();
      refresh();
    }, wait);
    return undefined;
  }, [signal, refresh, minGapMs]);
  useEffect(() => () => clearTimeout(pending.current), []);
}
