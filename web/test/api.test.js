import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explain } from '../src/api.js';

test('401 says the key was refused', () => {
  assert.match(explain(401, { detail: 'x' }, null), /API key was refused/);
  assert.match(explain(401, { detail: 'invalid or missing API key' }, null), /The API says: 401 invalid or missing API key\./);
});

test('403 names what the key lacks', () => {
  const text = explain(403, { detail: "this API key lacks the 'admin' scope" }, null);
  assert.match(text, /not allowed/);
  assert.match(text, /'admin' scope/);
});

test('429 gives the Retry-After wait', () => {
  assert.equal(explain(429, null, 17), 'Rate limit reached for this key; try again in 17 s.');
  assert.match(explain(429, null, null), /in a minute/);
});

test('422 field errors name each field', () => {
  const body = { detail: [{ loc: ['body', 'cash'], msg: 'must be > 0' }] };
  assert.equal(explain(422, body, null), '422: body.cash: must be > 0');
});

test('503 passes the API detail through', () => {
  assert.equal(explain(503, { detail: "no trading session 'up'" }, null), "no trading session 'up'");
});
