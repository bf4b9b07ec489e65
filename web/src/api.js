// The API client: adds the session's key, turns error answers into clear messages.
import { loadKey } from './session.js';

export const API_PREFIX = '/api/v1';
export const UNAUTHORIZED_EVENT = 'sigmax:unauthorized';

export class ApiError extends Error {
  constructor(status, message, retryAfterS = null) {
    super(message);
    this.status = status;
    this.retryAfterS = retryAfterS;
  }
}

function detailText(body) {
  if (!body) return '';
  const { detail } = body;
  if (Array.isArray(detail)) {
    return detail.map((e) => `${(e.loc || []).join('.')}: ${e.msg}`).join('; ');
  }
  return typeof detail === 'string' ? detail : JSON.stringify(detail);
}

export function explain(status, body, retryAfterS) {
  const detail = detailText(body);
  if (status === 401) {
    const why = detail ? ` The API says: ${status} ${detail}.` : '';
    return `The API key was refused (missing, unknown, revoked or expired). Enter a valid key.${why}`;
  }
  if (status === 403) return `This key is not allowed to do that: ${detail || 'missing scope'}.`;
  if (status === 429) {
    const wait = retryAfterS != null ? `in ${retryAfterS} s` : 'in a minute';
    return `Rate limit reached for this key; try again ${wait}.`;
  }
  if (status === 503) return detail || 'No trading session is running, or an actor did not answer.';
  return detail ? `${status}: ${detail}` : `The API answered ${status}.`;
}

async function readBody(response) {
  const type = response.headers.get('content-type') || '';
  if (type.includes('application/json')) return response.json();
  return response.text();
}

// fetch `path` under /api/v1 with the key; JSON (or text) on success, ApiError otherwise.
export async function api(path, { method = 'GET', body, key = loadKey() } = {}) {
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(`${API_PREFIX}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, `The API cannot be reached (${err.message}).`);
  }
  const parsed = await readBody(response).catch(() => null);
  if (response.ok) return parsed;
  const retry = response.headers.get('retry-after');
  const retryAfterS = retry == null ? null : Number(retry);
  const error = new ApiError(response.status, explain(response.status, parsed, retryAfterS), retryAfterS);
  if (response.status === 401) window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT, { detail: error.message }));
  throw error;
}

export function liveSocketUrl(key) {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${window.location.host}${API_PREFIX}/ws?token=${encodeURIComponent(key)}`;
}
