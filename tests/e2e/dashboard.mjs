// Drives the web dashboard in Debian's Chromium (headless, 1280 px wide) against the API:
// a wrong key is refused, the right one opens the overview; a paper portfolio session of
// three symbols is started from the Sessions screen (the server trades in approval mode),
// a proposal is approved and its fill arrives live, a cut WebSocket is reconnected,
// trading is paused, resumed, killed and released, a key is created and revoked and then
// refused at the login, the audit trail shows its chain verified, every screen is
// visited and saved as a screenshot, and the session is stopped. Exit 0 when every step
// passed.
//
// env: DASHBOARD_URL, API_KEY, SESSION_ID (the id to start the session under: the API
// serves it), ARTEFACTS (screenshot dir), CHROMIUM (default /usr/bin/chromium), WEB_DIR
// (where node_modules/playwright-core is).
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const { DASHBOARD_URL, API_KEY, SESSION_ID, ARTEFACTS, WEB_DIR } = process.env;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const { chromium } = createRequire(join(WEB_DIR, 'package.json'))('playwright-core');
const MINUTE = 60_000;

function log(message) {
  console.log(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

async function number(page, testId) {
  const text = await page.getByTestId(testId).innerText();
  return Number(text.replace(/,/g, ''));
}

async function shot(page, name) {
  await page.screenshot({ path: join(ARTEFACTS, `${name}.png`), fullPage: true });
  log(`screenshot ${name}.png`);
}

async function open(page, screen) {
  await page.getByTestId(`nav-${screen}`).click();
  await page.getByTestId(`screen-${screen}`).waitFor();
}

async function logIn(page) {
  await page.goto(DASHBOARD_URL);
  await page.getByTestId('api-key-input').fill('sgx_0000_not-a-key');
  await page.getByTestId('api-key-submit').click();
  await page.getByRole('alert').getByText('The API key was refused').waitFor();
  log('a wrong key is refused with a clear message');
  await page.getByTestId('api-key-input').fill(API_KEY);
  await page.getByTestId('api-key-submit').click();
  await page.getByTestId('screen-overview').waitFor();
  log('overview loaded');
}

async function startSession(page) {
  await open(page, 'sessions');
  await page.getByTestId('session-id').fill(SESSION_ID);
  await page.getByTestId('session-start').fill('3000');
  await page.getByTestId('session-bars').fill('3000');
  await page.getByTestId('session-speed').fill('4');
  await page.getByTestId('session-venue').fill('paper');
  const legs = await page.getByTestId('session-legs').inputValue();
  if (legs.trim().split('\n').length !== 3) throw new Error(`expected three legs, got ${legs}`);
  await page.getByTestId('start-session').click();
  await page.getByTestId('session-started').waitFor();
  await page.waitForFunction(
    (id) => document.querySelector(`[data-testid="session-state-${id}"]`)?.textContent === 'running',
    SESSION_ID,
    { timeout: 4 * MINUTE },
  );
  log(`session ${SESSION_ID} started from the Sessions screen (ETH/USD, LTC/USD, XRP/USD, paper)`);
  await open(page, 'overview');
  await tradingState(page, 'running');
  log('overview: trading state running');
}

async function approveProposal(page) {
  await open(page, 'approvals');
  const rows = page.getByTestId('proposals').locator('tbody tr');
  for (let attempt = 1; attempt <= 6; attempt += 1) {
    await rows.first().waitFor({ timeout: 4 * MINUTE });
    await rows.first().click();
    await page.getByTestId('proposal-detail').waitFor();
    await page.getByTestId('proposal-reason').fill(`e2e approval ${attempt}`);
    await shot(page, 'approvals');
    await page.getByTestId('approve').click();
    const outcome = page.locator('.notice').filter({ hasText: /: (executed|failed|approved)|409|refused/ }).first();
    await outcome.waitFor({ timeout: 2 * MINUTE });
    const text = await outcome.innerText();
    log(`approval ${attempt}: ${text}`);
    if (/: executed/.test(text)) {
      log('proposal approved and executed');
      return;
    }
  }
  throw new Error('no proposal could be approved and executed in 6 attempts');
}

async function liveFillAfterApproval(page) {
  await open(page, 'overview');
  await page.waitForFunction(() => Number(document.querySelector('[data-testid=fills-count]')?.textContent) > 0);
  await page.getByTestId('live-fills').locator('tbody tr').first().waitFor({ timeout: 2 * MINUTE });
  log(`fills ${await number(page, 'fills-count')}, the approved order's fill streamed live`);
}

async function keys(page, browser) {
  await open(page, 'keys');
  await page.getByTestId('key-name').fill('e2e-temporary');
  await page.getByTestId('create-key').click();
  const value = (await page.getByTestId('new-key-value').innerText()).trim();
  const heading = await page.getByTestId('new-key').locator('h3').innerText();
  const id = Number(/\(id (\d+)\)/.exec(heading)[1]);
  log(`key ${id} created, shown once`);
  await shot(page, 'keys-new');
  await page.getByTestId('new-key').getByRole('button').click();
  await page.getByTestId(`revoke-key-${id}`).click();
  await page.getByTestId(`key-state-${id}`).getByText('revoked').waitFor();
  log(`key ${id} revoked`);
  await credentials(page);
  await shot(page, 'keys');
  const other = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  try {
    await other.goto(DASHBOARD_URL);
    await other.getByTestId('api-key-input').fill(value);
    await other.getByTestId('api-key-submit').click();
    const alert = other.getByRole('alert');
    await alert.getByText('The API says: 401 invalid or missing API key').waitFor();
    log(`revoked key refused: ${await alert.innerText()}`);
  } finally {
    await other.close();
  }
}

async function credentials(page) {
  const secret = 'e2e-secret-never-shown-9f3a';
  await page.getByTestId('credential-name').fill('e2e-binance');
  await page.getByTestId('credential-exchange').fill('binance');
  await page.getByTestId('credential-key').fill('e2e-api-key-7781');
  await page.getByTestId('credential-secret').fill(secret);
  await page.getByTestId('add-credential').click();
  const row = page.getByTestId('credentials').locator('tbody tr', { hasText: 'e2e-binance' });
  await row.getByText('7781').waitFor();
  const shown = await page.evaluate(() => [
    document.body.innerText,
    ...[...document.querySelectorAll('input')].map((i) => i.value),
  ].join('\n'));
  if (shown.includes(secret) || shown.includes('e2e-api-key-7781')) throw new Error('a credential secret is shown back');
  log(`credential listed as ${await row.locator('code').innerText()}, its secrets nowhere on the page`);
  await shot(page, 'credentials');
  await row.getByRole('button', { name: 'Remove' }).click();
  await row.waitFor({ state: 'detached' });
  log('credential added, secrets not shown, removed');
}

async function audit(page) {
  await open(page, 'audit');
  await page.getByTestId('chain-state').getByText('chain verified').waitFor();
  log(`audit chain verified: ${await page.getByTestId('chain-state').innerText()}`);
  await page.getByTestId('audit-search').fill('state_change');
  await page.getByTestId('audit-search-submit').click();
  await page.getByTestId('audit-range').getByText('matching').waitFor();
  await page.getByTestId('audit-records').locator('tbody tr').first().click();
  await shot(page, 'audit');
}

async function operatorScreens(page) {
  await open(page, 'limits');
  await page.getByTestId('rate-limits').locator('tbody tr').first().waitFor();
  await shot(page, 'limits');

  await open(page, 'portfolio');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=pf-symbols] tbody tr').length === 3);
  await page.getByTestId('pf-weights').getByText('in force at the last bar').waitFor();
  await shot(page, 'portfolio');

  await open(page, 'symbol');
  await page.locator('[data-testid=candles] .candle').nth(5).waitFor();
  await page.locator('[data-testid=candles] .candle').last().hover();
  await page.getByTestId('bar-decision').waitFor();
  await shot(page, 'symbol');
}

async function stopSession(page) {
  await open(page, 'sessions');
  await page.getByTestId('sessions').locator('tbody tr', { hasText: SESSION_ID }).click();
  await page.getByTestId('session-follow').waitFor();
  await shot(page, 'sessions');
  await page.getByTestId(`stop-${SESSION_ID}`).click();
  await page.getByTestId(`session-state-${SESSION_ID}`).waitFor({ state: 'detached', timeout: 2 * MINUTE });
  log('session stopped from the Sessions screen');
}

// Every WebSocket the page opens to the API, passed through to the real server, so a
// test can cut one and watch the page open another.
function watchSockets(page) {
  const sockets = [];
  const ready = page.routeWebSocket(/\/api\/v1\/ws/, (ws) => {
    ws.connectToServer();
    sockets.push(ws);
  });
  return { sockets, ready };
}

async function reconnects(page, watched) {
  const before = watched.sockets.length;
  await watched.sockets[before - 1].close({ code: 1012, reason: 'e2e: connection cut' });
  const deadline = Date.now() + MINUTE;
  while (watched.sockets.length === before) {
    if (Date.now() > deadline) throw new Error('the page did not reconnect its WebSocket');
    await page.waitForTimeout(200);
  }
  await page.waitForFunction(() => document.querySelector('[data-testid=live-status]')?.textContent === 'live: open');
  log(`WebSocket cut; the page reconnected (${watched.sockets.length} sockets so far)`);
}

async function tradingState(page, state) {
  await page.waitForFunction(
    (wanted) => document.querySelector('[data-testid=trading-state]')?.textContent === wanted,
    state,
  );
}

async function pauseAndResume(page) {
  await page.getByTestId('pause').click();
  await tradingState(page, 'paused');
  log('paused');
  await shot(page, 'overview-paused');
  await page.getByTestId('resume').click();
  await tradingState(page, 'running');
  log('resumed');
}

async function killAndRelease(page) {
  await page.getByTestId('kill').click();
  await page.getByTestId('kill-confirm').click();
  await tradingState(page, 'killed');
  log('killed');
  await shot(page, 'overview-killed');
  await page.getByTestId('release').click(); // released into paused: resume is explicit
  await tradingState(page, 'paused');
  await page.getByTestId('resume').click();
  await tradingState(page, 'running');
  log('kill switch released, resumed');
}

async function visitScreens(page) {
  await open(page, 'decisions');
  await page.getByTestId('decisions').locator('tbody tr').first().click();
  await page.getByTestId('decision-detail').waitFor();
  await shot(page, 'decisions');

  await open(page, 'agents');
  await page.getByTestId('agents').locator('tbody tr').first().waitFor();
  await page.locator('[data-testid=agent-graph] canvas, .notice.error').first().waitFor();
  await page.waitForTimeout(1500); // let a decision's pulse run through the graph
  await shot(page, 'agents');

  await open(page, 'orders');
  await page.getByTestId('fills').locator('tbody tr').first().waitFor();
  await shot(page, 'orders');

  await open(page, 'risk');
  await page.getByTestId('risk-events').getByText('paused → running').first().waitFor();
  await shot(page, 'risk');

  await open(page, 'backtests');
  await page.getByTestId('launch-backtest').click();
  const done = page.getByTestId('backtests').locator('tbody tr', { hasText: 'succeeded' }).first();
  await done.waitFor({ timeout: 4 * MINUTE });
  await done.click();
  await page.getByTestId('backtest-report').waitFor();
  await page.locator('[data-testid=backtest-candles] .candle').last().hover();
  await page.getByTestId('candle-info').waitFor();
  await page.waitForTimeout(1500);
  await shot(page, 'backtests');

  await open(page, 'quantum');
  await page.getByTestId('circuit').waitFor();
  await shot(page, 'quantum');

  await open(page, 'overview');
  await tradingState(page, 'running');
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-testid=fills-count]')?.textContent));
  await page.getByTestId('equity-chart').waitFor({ timeout: MINUTE });
  await shot(page, 'overview');
}

async function main() {
  mkdirSync(ARTEFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-background-networking', '--enable-unsafe-swiftshader'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(MINUTE);
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => m.type() === 'error' && log(`console: ${m.text()}`));
  const watched = watchSockets(page);
  try {
    await watched.ready;
    await logIn(page);
    await startSession(page);
    await approveProposal(page);
    await liveFillAfterApproval(page);
    await reconnects(page, watched);
    await pauseAndResume(page);
    await killAndRelease(page);
    await keys(page, browser);
    await audit(page);
    await operatorScreens(page);
    await visitScreens(page);
    await stopSession(page);
    if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join(' | ')}`);
    log('all steps passed');
  } catch (err) {
    await page.screenshot({ path: join(ARTEFACTS, 'failure.png'), fullPage: true }).catch(() => {});
    console.error(`E2E FAILED: ${err.stack || err}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}

await main();
