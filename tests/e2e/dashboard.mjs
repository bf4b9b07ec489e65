// Drives the web dashboard in Debian's Chromium (headless) against a running paper
// session: a wrong key is refused, the right one opens the overview, live fills arrive,
// a cut WebSocket is reconnected, trading is paused and resumed, every screen is
// visited and saved as a screenshot (plus the paused overview). Exit 0 when every
// step passed.
//
// env: DASHBOARD_URL, API_KEY, ARTEFACTS (screenshot dir), CHROMIUM (default
// /usr/bin/chromium), WEB_DIR (where node_modules/playwright-core is).
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const { DASHBOARD_URL, API_KEY, ARTEFACTS, WEB_DIR } = process.env;
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
  await tradingState(page, 'running');
  log('overview loaded, trading state running');
}

async function liveFills(page) {
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector('[data-testid=fills-count]')?.textContent));
  const before = await number(page, 'fills-count');
  await page.getByTestId('live-fills').locator('tbody tr').first().waitFor({ timeout: 2 * MINUTE });
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid=fills-count]').textContent) > n,
    before,
    { timeout: 2 * MINUTE },
  );
  log(`fills grew from ${before} to ${await number(page, 'fills-count')}, live fills streamed`);
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
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.setDefaultTimeout(MINUTE);
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (m) => m.type() === 'error' && log(`console: ${m.text()}`));
  const watched = watchSockets(page);
  try {
    await watched.ready;
    await logIn(page);
    await liveFills(page);
    await reconnects(page, watched);
    await pauseAndResume(page);
    await killAndRelease(page);
    await visitScreens(page);
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
