import { useEffect, useState } from 'react';
import { api } from './api.js';

// Follows one job (GET /jobs/{id}) every 2 s until it is no longer running.
export function useJob(jobId) {
  const [job, setJob] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!jobId) return undefined;
    let timer = null;
    let alive = true;
    const check = async () => {
      let wait = 2000;
      try {
        const found = await api(`/jobs/${jobId}`);
        if (!alive) return;
        setJob(found);
        if (found.status !== 'running') return;
      } catch (err) {
        if (!alive) return;
        setError(err);
        if (err.status === 429 && err.retryAfterS) wait = err.retryAfterS * 1000;
      }
      timer = setTimeout(check, wait);
    };
    check();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [jobId]);
  return { job, error };
}
