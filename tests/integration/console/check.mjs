// The operator console of a running osbd in Debian's Chromium (playwright-core, headless): each
// page shows what the admin API answers for the same query, wrong credentials see nothing of it.
// Run by tests/integration/console.sh, which starts osbd and makes the instances; environment:
//   CONSOLE_URL          osbd's admin base URL (http://127.0.0.1:PORT)
//   CONSOLE_USER, CONSOLE_PASSWORD   the admin credentials
//   CONSOLE_CHROMIUM     the browser (/usr/bin/chromium)
//   CONSOLE_SCREENSHOTS  where overview.png, instances.png, usage.png, operations.png go
//   CONSOLE_COUNTS       a file that receives {"passes": N, "failures": N}
//   CONSOLE_SECRETS      binding passwords, comma-separated, that no page may contain
import {writeFileSync} from 'node:fs';
import {isDeepStrictEqual} from 'node:util';
import {chromium} from 'playwright-core';

const base = process.env.CONSOLE_URL;
const user = process.env.CONSOLE_USER;
const password = process.env.CONSOLE_PASSWORD;
const shots = process.env.CONSOLE_SCREENSHOTS;
const secrets = (process.env.CONSOLE_SECRETS || '').split(',').filter((s) => s !== '');
const ui = base + '/admin/ui/';
const origin = new URL(base).origin;
const readyTimeout = 30000;

let passes = 0;
let failures = 0;

function check(name, want, got) {
  if (isDeepStrictEqual(want, got)) {
    passes += 1;
    console.log('ok   ' + name);
  } else {
    failures += 1;
    console.log('FAIL ' + name + '\n     want ' + JSON.stringify(want) + '\n     got  ' +
                JSON.stringify(got));
  }
}

function checkTrue(name, condition, detail) {
  check(name + (condition || detail === undefined ? '' : ' (' + detail + ')'), true, !!condition);
}

// The admin API as curl would ask it, with the credentials in the header.
async function api(pathAndQuery) {
  const response = await fetch(base + '/admin/' + pathAndQuery, {
    headers: {Authorization: 'Basic ' + Buffer.from(user + ':' + password).toString('base64')},
  });
  if (!response.ok) {
    throw new Error('GET /admin/' + pathAndQuery + ': ' + response.status);
  }
  return response;
}

async function apiJson(pathAndQuery) {
  return (await api(pathAndQuery)).json();
}

// Opens a page (or runs action on the open one) and waits until it shows its data; returns the
// JSON of the admin API response whose URL matches apiPattern, as the page received it.
async function loadPage(page, action, apiPattern) {
  const received = apiPattern
      ? page.waitForResponse((r) => apiPattern.test(r.url()) && r.status() === 200,
                             {timeout: readyTimeout})
      : Promise.resolve(null);
  await action();
  const response = await received;
  await page.waitForSelector('body[data-ready="true"], body[data-ready="error"]',
                             {timeout: readyTimeout});
  const ready = await page.getAttribute('body', 'data-ready');
  if (ready !== 'true') {
    throw new Error('the page says: ' + (await page.textContent('#status')));
  }
  return response ? {url: response.url(), body: await response.json()} : null;
}

// Reads every row of a table body: its data- attributes and each cell's data-value by field.
async function tableRows(page, selector) {
  return page.$$eval(selector + ' > tbody > tr:not(.empty-row)', (rows) => rows.map((row) => {
    const cells = {};
    for (const cell of row.querySelectorAll('td[data-field]')) {
      cells[cell.getAttribute('data-field')] = cell.getAttribute('data-value');
    }
    return {attrs: {...row.dataset}, className: row.className, cells,
            texts: [...row.querySelectorAll('td')].map((td) => td.textContent)};
  }));
}

const str = (v) => (v === undefined || v === null ? '' : String(v));

async function screenshot(page, name) {
  const path = shots + '/' + name;
  await page.screenshot({path, fullPage: true});
}

// Everything a page does that the console must not: requests to another origin or with another
// method than GET, script errors, Content-Security-Policy violations.
function watch(page, problems) {
  page.on('request', (request) => {
    if (new URL(request.url()).origin !== origin) {
      problems.push('request to another origin: ' + request.url());
    }
    if (request.method() !== 'GET') {
      problems.push(request.method() + ' ' + request.url());
    }
  });
  page.on('pageerror', (error) => problems.push('script error: ' + error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') {
      problems.push('console error: ' + message.text());
    }
  });
}

// --- the pages ------------------------------------------------------------------------------------

async function overview(page) {
  await loadPage(page, () => page.goto(ui), null);
  const [plugins, summary, bindings] = await Promise.all(
      [apiJson('plugins'), apiJson('summary'), apiJson('bindings')]);
  const totals = await page.$$eval('#totals dd[data-field]', (dds) => Object.fromEntries(
      dds.map((dd) => [dd.getAttribute('data-field'), dd.getAttribute('data-value')])));
  const catalogs = new Set();
  let services = 0;
  for (const p of plugins.plugins) {
    for (const s of p.services) {
      services += 1;
      s.catalogs.forEach((c) => catalogs.add(c));
    }
  }
  check('overview: totals', {
    instances: str(summary.instances),
    bindings: str(bindings.bindings.length),
    plans: str(summary.plans.length),
    plugins: str(plugins.plugins.length),
    refused: str(plugins.refused.length),
    catalogs: str(catalogs.size),
    services: str(services),
  }, totals);
  check('overview: scenario totals (5 instances, 2 bindings)', ['5', '2'],
        [totals.instances, totals.bindings]);

  const pluginRows = await tableRows(page, '#plugins');
  check('overview: plugins with their state', plugins.plugins.map((p) => ({
    name: p.name, version: p.version, state: p.state, isolation: p.isolation,
    restarts: str(p.restarts), instances: str(p.instances),
  })), pluginRows.map((r) => ({
    name: r.cells.name, version: r.cells.version, state: r.cells.state,
    isolation: r.cells.isolation, restarts: r.cells.restarts, instances: r.cells.instances,
  })));
  const serviceItems = await page.$$eval('#plugins [data-field="services"] li',
                                         (lis) => lis.map((li) => li.textContent));
  check('overview: services and their catalogs',
        plugins.plugins.flatMap((p) => p.services.map(
            (s) => s.name + ' (' + s.catalogs.join(', ') + ')')),
        serviceItems);
  check('overview: refused plugin files', plugins.refused.map((r) => r.file),
        (await tableRows(page, '#refused')).map((r) => r.cells.file));
  check('overview: catalogs', [...catalogs].sort(),
        (await tableRows(page, '#catalogs')).map((r) => r.attrs.catalog));

  const perPlan = {};
  for (const b of bindings.bindings) {
    perPlan[b.plan_id] = (perPlan[b.plan_id] || 0) + 1;
  }
  const planRows = await tableRows(page, '#plans');
  check('overview: instances and bindings per plan',
        summary.plans.map((p) => ({plan_id: p.plan_id, plan: p.plan, instances: str(p.instances),
                                   bindings: str(perPlan[p.plan_id] || 0)})),
        planRows.slice(0, summary.plans.length).map((r) => ({
          plan_id: r.attrs.planId, plan: r.cells.plan, instances: r.cells.instances,
          bindings: r.cells.bindings})));
  const foot = await page.$$eval('#plans tfoot td[data-field]', (tds) => Object.fromEntries(
      tds.map((td) => [td.getAttribute('data-field'), td.getAttribute('data-value')])));
  check('overview: plan totals', {instances: str(summary.instances),
                                  bindings: str(bindings.bindings.length)}, foot);
  await screenshot(page, 'overview.png');
}

async function instances(page) {
  await loadPage(page, () => page.goto(ui + 'instances.html'), /\/admin\/instances$/);
  const all = (await apiJson('instances')).instances;
  const expected = (list) => list.map((i) => ({
    id: i.id,
    catalog: i.catalog,
    service: i.service || i.service_id,
    plan: i.plan || i.plan_id,
    status: i.status,
    organization: i.owner.key,
    created_at: i.created_at,
    bindings: str(i.bindings),
    last_operation: i.last_operation ? i.last_operation.state : '',
  }));
  const shown = async () => (await tableRows(page, '#instances')).map((r) => r.cells);
  check('instances: every instance with its fields', expected(all), await shown());
  check('instances: scenario (a1 a2 a3 b1 b2, b2 on async, a2 last update failed)',
        [['a1', 'a2', 'a3', 'b1', 'b2'], 'async', 'failed'],
        [all.map((i) => i.id).sort(), all.find((i) => i.id === 'b2').plan,
         all.find((i) => i.id === 'a2').last_operation.state]);
  check('instances: count', [str(all.length), str(all.length)],
        [await page.getAttribute('#instance-count', 'data-value'),
         await page.getAttribute('#instance-total', 'data-value')]);
  await screenshot(page, 'instances.png');

  const options = async (id) => page.$$eval('#' + id + ' option', (os) => os.map((o) => o.value));
  check('instances: organization filter offers both', ['', 'org-a', 'org-b'],
        await options('filter-organization'));
  check('instances: plan filter offers the plans in use', ['', 'async', 'sync'],
        await options('filter-plan'));
  await page.selectOption('#filter-organization', 'org-b');
  check('instances: organization org-b',
        expected(all.filter((i) => i.owner.key === 'org-b')), await shown());
  await page.selectOption('#filter-plan', 'async');
  check('instances: org-b and plan async',
        expected(all.filter((i) => i.owner.key === 'org-b' && i.plan === 'async')), await shown());
  check('instances: filters in the page URL', '?organization=org-b&plan=async',
        new URL(page.url()).search);
  await page.selectOption('#filter-organization', '');
  await page.selectOption('#filter-plan', '');
  await page.selectOption('#filter-status', 'ready');
  check('instances: status ready', expected(all.filter((i) => i.status === 'ready')),
        await shown());
  await page.selectOption('#filter-catalog', 'default');
  check('instances: catalog default, status ready',
        expected(all.filter((i) => i.catalog === 'default' && i.status === 'ready')),
        await shown());
}

function addDays(date, days) {
  const d = new Date(date + 'T00:00:00Z');
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

// The usage page for one grouping: its table and charts are the report the page received; that
// report is the API's for the same query, between what the API said just before and just after
// (a live instance adds storage with every sample).
async function usage(page, by, action) {
  const today = new Date().toISOString().slice(0, 10);
  const query = new URLSearchParams({from: addDays(today, -29), to: addDays(today, 1), by});
  const before = await apiJson('usage?' + query);
  const received = await loadPage(page, action, /\/admin\/usage\?/);
  const after = await apiJson('usage?' + query);
  const report = received.body;
  check('usage by ' + by + ': the page asks for the last 30 days',
        Object.fromEntries(query), Object.fromEntries(new URL(received.url).searchParams));

  const figures = ['instance_hours', 'storage_gib_hours', 'peak_storage_bytes', 'created',
                   'deleted'];
  const rowOf = (key, g) => ({
    key, ...Object.fromEntries(figures.map((f) => [f, str(g[f])])),
    plans: JSON.stringify(g.plans),
  });
  const rows = (await tableRows(page, '#usage')).map((r) => ({key: r.attrs.group, ...r.cells}));
  check('usage by ' + by + ': one row per group with the figures received',
        report.groups.map((g) => rowOf(g.key, g)), rows);
  const totals = await page.$$eval('#usage-totals td[data-field]', (tds) => Object.fromEntries(
      tds.map((td) => [td.getAttribute('data-field'), td.getAttribute('data-value')])));
  delete totals.key;
  const expectedTotals = rowOf('', report.totals);
  delete expectedTotals.key;
  check('usage by ' + by + ': totals', expectedTotals, totals);

  // The same query asked again: the same groups and counts; the figures that grow with time
  // between before and after.
  const stable = (r) => r.groups.map((g) => [g.key, g.created, g.deleted, Object.keys(g.plans)]);
  check('usage by ' + by + ': groups and counts as the API gives them', stable(after),
        stable(report));
  check('usage by ' + by + ': same groups before', stable(before), stable(report));
  const between = (b, x, a) => b - 1e-9 <= x && x <= a + 1e-9;
  for (const g of report.groups) {
    const b = before.groups.find((o) => o.key === g.key);
    const a = after.groups.find((o) => o.key === g.key);
    for (const f of ['instance_hours', 'storage_gib_hours', 'peak_storage_bytes']) {
      checkTrue('usage by ' + by + ': ' + g.key + ' ' + f + ' as the API gives it',
                b && a && between(b[f], g[f], a[f]),
                JSON.stringify([b && b[f], g[f], a && a[f]]));
    }
  }

  // Charts: one dot per group and step, each with the series' exact value.
  const points = report.series.points;
  const keys = report.groups.map((g) => g.key);
  for (const [chart, field] of [['chart-instances', 'instances'], ['chart-storage', 'bytes']]) {
    const dots = await page.$$eval('#' + chart + ' svg g[data-group]', (groups) => groups.map(
        (g) => [g.getAttribute('data-group'),
                [...g.querySelectorAll('circle')].map((c) => [c.getAttribute('data-at'),
                                                             c.getAttribute('data-value')])]));
    check('usage by ' + by + ': ' + chart + ' draws the series',
          keys.map((k) => [k, points.map((p) => [p.at, str(p.groups[k] ? p.groups[k][field]
                                                                        : 0)])]),
          dots);
  }
  const lines = await page.$$eval('#chart-storage svg polyline', (ls) => ls.length);
  check('usage by ' + by + ': a line per group', points.length > 1 ? keys.length : 0, lines);

  // The CSV link: the same query, as text/csv, one line per group after the header.
  const href = await page.getAttribute('#usage-csv', 'href');
  const csvUrl = new URL(href, page.url());
  check('usage by ' + by + ': CSV link is the same query plus format=csv',
        base + '/admin/usage?' + query + '&format=csv', csvUrl.href);
  const csv = await api(csvUrl.pathname.replace('/admin/', '') + csvUrl.search);
  check('usage by ' + by + ': CSV is text/csv', true,
        (csv.headers.get('content-type') || '').startsWith('text/csv'));
  const lineCount = (await csv.text()).trim().split('\n').length;
  check('usage by ' + by + ': CSV has a line per group', report.groups.length + 1, lineCount);
  return report;
}

async function usagePages(page) {
  const byOrg = await usage(page, 'organization', () => page.goto(ui + 'usage.html'));
  const org = Object.fromEntries(byOrg.groups.map((g) => [g.key, [g.created, g.deleted]]));
  check('usage: org-a created 3, org-b created 3 and deleted 1',
        {'org-a': [3, 0], 'org-b': [3, 1]}, org);
  checkTrue('usage: storage was sampled', byOrg.totals.storage_gib_hours > 0);
  await screenshot(page, 'usage.png');
  const byPlan = await usage(page, 'plan', () => page.selectOption('#usage-by', 'plan'));
  check('usage: by plan, the plans used',
        ['example-service/async', 'example-service/sync'],
        byPlan.groups.map((g) => g.key).sort());
  check('usage: the page URL keeps the query', 'plan',
        new URL(page.url()).searchParams.get('by'));
}

async function operations(page) {
  const received = await loadPage(page, () => page.goto(ui + 'operations.html'),
                                  /\/admin\/operations\?/);
  const expected = (list) => list.map((o) => ({
    id: o.id, created_at: o.created_at, updated_at: o.updated_at, catalog: o.catalog,
    instance_id: o.instance_id, binding_id: o.binding_id, kind: o.kind, state: o.state,
    description: o.description, failed: o.state === 'failed',
  }));
  const shown = async () => (await tableRows(page, '#operations')).map((r) => ({
    id: r.attrs.id, ...r.cells, failed: r.className.split(' ').includes('failed'),
  }));
  const all = (await apiJson('operations?limit=100')).operations;
  check('operations: asks for the latest 100', '?limit=100', new URL(received.url).search);
  check('operations: newest first, failures highlighted, as the API gives them', expected(all),
        await shown());
  checkTrue('operations: the failed update is there with its description',
            all.some((o) => o.state === 'failed' && o.instance_id === 'a2' &&
                            o.description.includes('accepts_incomplete')));
  await screenshot(page, 'operations.png');
  const failed = await loadPage(page, () => page.check('#failures-only'),
                                /\/admin\/operations\?/);
  const onlyFailed = (await apiJson('operations?limit=100&state=failed')).operations;
  check('operations: failures only asks for state=failed', '?limit=100&state=failed',
        new URL(failed.url).search);
  check('operations: failures only', expected(onlyFailed), await shown());
  checkTrue('operations: failures only shows failures', onlyFailed.length > 0 &&
                onlyFailed.every((o) => o.state === 'failed'));
}

// Wrong or no credentials: the 401, and nothing of the console (no page, no script).
async function refused(browser) {
  for (const [name, credentials] of [['wrong credentials', {username: user, password: 'wrong'}],
                                     ['platform-like credentials',
                                      {username: 'platform', password: password}],
                                     ['no credentials', undefined]]) {
    const context = await browser.newContext(credentials ? {httpCredentials: credentials} : {});
    const page = await context.newPage();
    const requested = [];
    page.on('request', (r) => requested.push(new URL(r.url()).pathname));
    for (const path of ['', 'usage.html', 'console.js']) {
      let status;
      let text;
      let shown = true;
      try {
        const response = await page.goto(ui + path);
        status = response.status();
        text = await response.text();
      } catch (error) {
        // With no credentials to offer, Chromium ends the navigation at the 401's challenge
        // (net::ERR_INVALID_AUTH_CREDENTIALS) and shows its own error page: the same request
        // from the context shows what osbd answered.
        if (!String(error).includes('ERR_INVALID_AUTH_CREDENTIALS')) {
          throw error;
        }
        shown = false;
        const response = await context.request.get(ui + path);
        status = response.status();
        text = await response.text();
      }
      check(name + ': /admin/ui/' + path + ' is 401', 401, status);
      checkTrue(name + ': /admin/ui/' + path + ' shows nothing of the console',
                !text.includes('osbd console') && !text.includes('<') &&
                    !text.includes('use strict') && (!shown || (await page.$('nav')) === null),
                text.slice(0, 80));
    }
    check(name + ': nothing but the three pages requested',
          ['/admin/ui/', '/admin/ui/usage.html', '/admin/ui/console.js'],
          [...new Set(requested)].filter((p) => p !== '/favicon.ico'));
    await context.close();
  }
}

// --- main -----------------------------------------------------------------------------------------

const browser = await chromium.launch({
  executablePath: process.env.CONSOLE_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  // Chromium must not reach for the network (the machine has none but localhost); playwright-core
  // gives it a fresh --user-data-dir of its own.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let crashed = null;
try {
  const context = await browser.newContext({
    httpCredentials: {username: user, password},
    viewport: {width: 1280, height: 900},
  });
  const page = await context.newPage();
  const problems = [];
  watch(page, problems);
  const pages = [];
  page.on('load', () => pages.push(page.url()));
  for (const [name, run] of [['overview', overview], ['instances', instances],
                             ['usage', usagePages], ['operations', operations]]) {
    try {
      await run(page);
    } catch (error) {
      check(name + ': ran to the end', 'no error', String(error && error.stack || error));
    }
    const content = await page.content();
    check(name + ': no binding credentials on the page', [],
          secrets.filter((s) => content.includes(s)));
  }
  check('no request elsewhere, no script error, no CSP violation', [], problems);
  await context.close();
  await refused(browser);
} catch (error) {
  crashed = error;
} finally {
  await browser.close();
}
if (crashed) {
  check('browser session ran to the end', 'no error', String(crashed.stack || crashed));
}
console.log('browser: ' + passes + ' passed, ' + failures + ' failed');
if (process.env.CONSOLE_COUNTS) {
  writeFileSync(process.env.CONSOLE_COUNTS, JSON.stringify({passes, failures}));
}
process.exit(failures === 0 ? 0 : 1);
