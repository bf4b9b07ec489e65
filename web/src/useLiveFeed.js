import { useEffect, useRef, useState } from 'react';
import { liveSocketUrl } from './api.js';

const TOPICS = ['decisions', 'orders', 'fills', 'risk', 'status', 'proposals'];
const KEEP = 200; // events kept per topic
const MAX_BACKOFF_MS = 30000;

// One WebSocket to /api/v1/ws for the whole page: every topic, reconnecting with
// exponential backoff (1 s, 2 s, 4 s ... 30 s) whenever it drops.
export function useLiveFeed(key) {
  const [state, setState] = useState({ status: 'connecting', retries: 0, nextRetryS: null });
  const [events, setEvents] = useState({});
  const [version, setVersion] = useState(0);
  const socket = useRef(null);

  useEffect(() => {
    if (!key) return undefined;
    let closedByUs = false;
    let retries = 0;
    let timer = null;

    function connect() {
      setState({ status: 'connecting', retries, nextRetryS: null });
      const ws = new WebSocket(liveSocketUrl(key));
      socket.current = ws;
      ws.onopen = () => {
        retries = 0;
        setState({ status: 'open', retries: 0, nextRetryS: null });
        ws.send(JSON.stringify({ action: 'subscribe', topics: TOPICS }));
      };
      ws.onmessage = (message) => {
        const frame = JSON.parse(message.data);
        if (frame.type === 'ping') ws.send(JSON.stringify({ action: 'pong' }));
        if (frame.type !== 'event') return;
        setEvents((old) => ({ ...old, [frame.topic]: [frame, ...(old[frame.topic] || [])].slice(0, KEEP) }));
        setVersion((v) => v + 1);
      };
      ws.onclose = () => {
        if (closedByUs) return;
        const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** retries);
        retries += 1;
        setState({ status: 'reconnecting', retries, nextRetryS: delay / 1000 });
        timer = setTimeout(connect, delay);
      };
    }

    connect();
    return () => {
      closedByUs = true;
      clearTimeout(timer);
      socket.current?.close();
    };
  }, [key]);

  return { ...state, events, version };
}
