export function money(value, digits = 2) {
  if (value == null || value === '') return '–';
  return Number(value).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function pct(value, digits = 2) {
  if (value == null) return '–';
  return `${(Number(value) * 100).toFixed(digits)}%`;
}

export function num(value, digits = 4) {
  if (value == null) return '–';
  return Number(value).toFixed(digits);
}

export function time(value) {
  if (!value) return '–';
  return new Date(value).toISOString().replace('T', ' ').slice(0, 19);
}

export function signClass(value) {
  const n = Number(value);
  if (n > 0) return 'up';
  if (n < 0) return 'down';
  return '';
}
