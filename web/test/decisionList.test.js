import assert from 'node:assert/strict';
import { test } from 'node:test';
import { merged } from '../src/decisionList.js';

const at = (hour, tz = 'Z') => ({ symbol: 'BTC/USD', ts: `2019-05-03T${hour}:00:00${tz}` });
const hours = (rows) => rows.map((d) => new Date(d.ts).getUTCHours());

test('a reconnect gap filled from the stored list keeps newest first', () => {
  const live = ['07', '08', '17', '18'].map((h) => ({ data: at(h) })).reverse();
  const stored = ['11', '12', '16'].map((h) => at(h));
  assert.deepEqual(hours(merged(stored, live)), [18, 17, 16, 12, 11, 8, 7]);
});

test('the same instant spelt two ways is listed once', () => {
  const rows = merged([at('09', '+00:00')], [{ data: at('09') }]);
  assert.equal(rows.length, 1);
});

test('no stored answer yet: the live ones alone', () => {
  assert.deepEqual(hours(merged(null, [{ data: at('05') }])), [5]);
});
