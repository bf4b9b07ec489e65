// The API key lives in sessionStorage only: it is gone when the tab closes.
const KEY = 'sigmax.apiKey';

export function loadKey() {
  return sessionStorage.getItem(KEY);
}

export function saveKey(key) {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY);
}
