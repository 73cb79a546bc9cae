/* The operator console of osbd: one script for every page of /admin/ui/ (core/ui/*.html).
 *
 * It only reads the admin API: GET requests to the same origin, with the HTTP Basic credentials
 * the browser already holds for /admin/. Pages are built with DOM calls (text goes in as text,
 * never as markup); there is no framework, no inline code and no other origin, as the
 * Content-Security-Policy osbd sends with every console file requires.
 *
 * Every figure is shown formatted and keeps the API's exact value in its data-value attribute;
 * cells name their field in data-field, rows their key (data-id, data-group, data-plugin, ...).
 * <body data-ready> is "true" once a page shows what the API answered, "error" when a request
 * failed (the status line says why).
 */
'use strict';

(function () {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const GIB = 1024 * 1024 * 1024;
  const DAY_MS = 24 * 3600 * 1000;
  const NONE = '(none)';

  // --- the admin API ----------------------------------------------------------------------------

  // The pages live under /admin/ui/, the API under /admin/: relative URLs keep working behind a
  // proxy that moves both.
  function apiUrl(pathAndQuery) {
    return '../' + pathAndQuery;
  }

  async function getJson(pathAndQuery) {
    const response = await fetch(apiUrl(pathAndQuery), {
      method: 'GET',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: {Accept: 'application/json'},
    });
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    if (!response.ok) {
      const why = body && typeof body.description === 'string' ? body.description
                                                                : response.statusText;
      throw new Error('GET /admin/' + pathAndQuery + ' answered ' + response.status + ': ' + why);
    }
    if (body === null || typeof body !== 'object') {
      throw new Error('GET /admin/' + pathAndQuery + ' answered something that is not JSON');
    }
    return body;
  }

  // --- DOM helpers ------------------------------------------------------------------------------

  // An element with attributes (text: its text; class: its class list) and children (nodes or
  // strings, which become text).
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    for (const child of children || []) {
      node.append(child);
    }
    return node;
  }

  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    for (const child of children || []) {
      node.append(child);
    }
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null) {
        continue;
      }
      if (name === 'text') {
        node.textContent = String(value);
      } else {
        node.setAttribute(name, String(value));
      }
    }
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
    return node;
  }

  // A body row that says the table has nothing to show.
  function emptyRow(columns, text) {
    return el('tr', {class: 'empty-row'}, [el('td', {class: 'empty', colspan: columns, text})]);
  }

  // --- formatting -------------------------------------------------------------------------------

  const integerFormat = new Intl.NumberFormat(undefined, {maximumFractionDigits: 0});

  // Hours, averages and other decimals: two decimals, fewer for large values, two significant
  // digits for tiny ones.
  function formatDecimal(value) {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return String(value);
    }
    if (value === 0) {
      return '0';
    }
    const magnitude = Math.abs(value);
    let options = {minimumFractionDigits: 2, maximumFractionDigits: 2};
    if (magnitude >= 1000) {
      options = {maximumFractionDigits: 0};
    } else if (magnitude >= 100) {
      options = {maximumFractionDigits: 1};
    } else if (magnitude < 0.01) {
      options = {maximumSignificantDigits: 2};
    }
    return new Intl.NumberFormat(undefined, options).format(value);
  }

  function formatInteger(value) {
    return typeof value === 'number' ? integerFormat.format(value) : String(value);
  }

  function formatBytes(bytes) {
    if (typeof bytes !== 'number' || !Number.isFinite(bytes)) {
      return String(bytes);
    }
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
    let value = bytes;
    let unit = 0;
    while (Math.abs(value) >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    if (unit === 0) {
      return integerFormat.format(value) + ' B';
    }
    const digits = Math.abs(value) < 10 ? 2 : 1;
    const format = new Intl.NumberFormat(undefined, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
    return format.format(value) + ' ' + units[unit];
  }

  // "2026-11-01T12:34:56.789Z" as "2026-11-01 12:34:56 UTC".
  function formatTime(iso) {
    if (typeof iso !== 'string' || iso === '') {
      return '\u2013';
    }
    return iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
  }

  // A table cell with a figure: formatted text, the exact value in data-value and in its tooltip.
  function numberCell(field, value, format) {
    const exact = value === undefined || value === null ? '' : String(value);
    return el('td', {
      class: 'num',
      'data-field': field,
      'data-value': exact,
      title: exact,
      text: exact === '' ? '\u2013' : format(value),
    });
  }

  function textCell(field, value, extraClass) {
    const text = value === undefined || value === null ? '' : String(value);
    return el('td', {
      'data-field': field,
      'data-value': text,
      class: extraClass,
      text: text === '' ? '\u2013' : text,
    });
  }

  function timeCell(field, iso) {
    const td = el('td', {'data-field': field, 'data-value': iso || ''});
    td.append(iso ? el('time', {datetime: iso, text: formatTime(iso)}) : '\u2013');
    return td;
  }

  // A state (ready, failed, in progress, up, ...) as a cell whose class colours it.
  function stateCell(field, value) {
    const text = value || '';
    return textCell(field, text, text ? 'state-' + text.replace(/[^a-z0-9]+/gi, '-') : undefined);
  }

  // A figure outside tables (<dd data-field>, <span id>): text and data-value.
  function setFigure(node, value, format) {
    node.setAttribute('data-value', String(value));
    node.title = String(value);
    node.textContent = (format || formatInteger)(value);
  }

  // --- status line and loading ------------------------------------------------------------------

  function setStatus(state, text) {
    const status = byId('status');
    status.setAttribute('data-state', state);
    status.textContent = text;
  }

  let generation = 0;

  // Runs the page's loader; only the latest run updates the status, so that a slow answer to an
  // earlier Refresh does not overwrite a newer one.
  async function load() {
    const loader = pages[document.body.getAttribute('data-page')];
    if (!loader) {
      return;
    }
    const mine = ++generation;
    document.body.setAttribute('data-ready', 'false');
    setStatus('loading', 'Loading\u2026');
    try {
      await loader(() => mine === generation);
      if (mine !== generation) {
        return;
      }
      setStatus('ok', '');
      const now = new Date();
      byId('loaded-at').textContent = 'as of ' + now.toISOString().slice(11, 19) + ' UTC';
      document.body.setAttribute('data-ready', 'true');
    } catch (error) {
      if (mine !== generation) {
        return;
      }
      setStatus('error', error && error.message ? error.message : String(error));
      document.body.setAttribute('data-ready', 'error');
    }
  }

  // Replaces the page's query (filters, period) without reloading, so that a link or a reload
  // shows the same view.
  function setQuery(params) {
    const search = params.toString();
    const url = location.pathname + (search ? '?' + search : '');
    history.replaceState(null, '', url);
  }

  // --- overview ---------------------------------------------------------------------------------

  async function overview(current) {
    const [plugins, summary, bindings] = await Promise.all([
      getJson('plugins'),
      getJson('summary'),
      getJson('bindings'),
    ]);
    if (!current()) {
      return;
    }
    const loaded = plugins.plugins || [];
    const refused = plugins.refused || [];

    // Catalogs as the plugins' services show them.
    const catalogs = new Map();
    let services = 0;
    for (const plugin of loaded) {
      for (const service of plugin.services || []) {
        services += 1;
        for (const name of service.catalogs || []) {
          if (!catalogs.has(name)) {
            catalogs.set(name, {services: [], plugins: new Set()});
          }
          catalogs.get(name).services.push(service.name);
          catalogs.get(name).plugins.add(plugin.name);
        }
      }
    }

    // Bindings per plan id.
    const bindingsPerPlan = new Map();
    for (const binding of bindings.bindings || []) {
      bindingsPerPlan.set(binding.plan_id, (bindingsPerPlan.get(binding.plan_id) || 0) + 1);
    }

    const plans = summary.plans || [];
    const totals = byId('totals');
    const figure = (field) => totals.querySelector('[data-field="' + field + '"]');
    setFigure(figure('instances'), summary.instances);
    setFigure(figure('bindings'), (bindings.bindings || []).length);
    setFigure(figure('plans'), plans.length);
    setFigure(figure('plugins'), loaded.length);
    setFigure(figure('refused'), refused.length);
    setFigure(figure('catalogs'), catalogs.size);
    setFigure(figure('services'), services);

    const pluginRows = clear(byId('plugins').tBodies[0]);
    for (const plugin of loaded) {
      const serviceList = el('ul', {class: 'plain'});
      for (const service of plugin.services || []) {
        serviceList.append(el('li', {
          'data-service': service.name,
          text: service.name + ' (' + (service.catalogs || []).join(', ') + ')',
        }));
      }
      const servicesCell = el('td', {'data-field': 'services'}, [serviceList]);
      pluginRows.append(el('tr', {'data-plugin': plugin.name}, [
        textCell('name', plugin.name),
        textCell('version', plugin.version),
        stateCell('state', plugin.state),
        textCell('isolation', plugin.isolation),
        numberCell('restarts', plugin.restarts, formatInteger),
        servicesCell,
        numberCell('instances', plugin.instances, formatInteger),
      ]));
    }
    if (loaded.length === 0) {
      pluginRows.append(emptyRow(7, 'No plugin is loaded.'));
    }

    const refusedRows = clear(byId('refused').tBodies[0]);
    for (const r of refused) {
      refusedRows.append(el('tr', {'data-file': r.file}, [
        textCell('file', r.file, 'id'),
        textCell('error', r.error),
      ]));
    }
    if (refused.length === 0) {
      refusedRows.append(emptyRow(2, 'None.'));
    }

    const catalogRows = clear(byId('catalogs').tBodies[0]);
    for (const [name, c] of [...catalogs.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      catalogRows.append(el('tr', {'data-catalog': name}, [
        textCell('name', name),
        textCell('services', c.services.join(', ')),
        textCell('plugins', [...c.plugins].join(', ')),
      ]));
    }
    if (catalogs.size === 0) {
      catalogRows.append(emptyRow(3, 'No catalog shows a service.'));
    }

    const planRows = clear(byId('plans').tBodies[0]);
    let instanceSum = 0;
    let bindingSum = 0;
    const shown = new Set();
    for (const plan of plans) {
      const count = bindingsPerPlan.get(plan.plan_id) || 0;
      shown.add(plan.plan_id);
      instanceSum += plan.instances;
      bindingSum += count;
      planRows.append(el('tr', {'data-plan-id': plan.plan_id, 'data-service-id': plan.service_id}, [
        textCell('service', plan.service || plan.service_id),
        textCell('plan', plan.plan || plan.plan_id),
        textCell('organizations', (plan.organizations || []).join(', ')),
        numberCell('instances', plan.instances, formatInteger),
        numberCell('bindings', count, formatInteger),
      ]));
    }
    // Bindings made under a plan no instance has any more (their instance changed plan).
    for (const [planId, count] of bindingsPerPlan) {
      if (shown.has(planId)) {
        continue;
      }
      bindingSum += count;
      planRows.append(el('tr', {'data-plan-id': planId}, [
        textCell('service', ''),
        textCell('plan', planId),
        textCell('organizations', ''),
        numberCell('instances', 0, formatInteger),
        numberCell('bindings', count, formatInteger),
      ]));
    }
    if (planRows.rows.length === 0) {
      planRows.append(emptyRow(5, 'No instance.'));
    }
    const foot = clear(byId('plans').tFoot);
    foot.append(el('tr', {'data-total': 'true'}, [
      el('td', {colspan: 3, text: 'Total'}),
      numberCell('instances', instanceSum, formatInteger),
      numberCell('bindings', bindingSum, formatInteger),
    ]));
  }

  // --- instances --------------------------------------------------------------------------------

  let instances = [];

  // The value of an instance a filter compares.
  const instanceFilters = {
    catalog: (i) => i.catalog || '',
    organization: (i) => (i.owner && i.owner.key) || '',
    plan: (i) => i.plan || i.plan_id || '',
    status: (i) => i.status || '',
  };

  function filterSelect(name) {
    return byId('filter-' + name);
  }

  async function instancesPage(current) {
    const data = await getJson('instances');
    if (!current()) {
      return;
    }
    instances = data.instances || [];
    const params = new URLSearchParams(location.search);
    for (const [name, valueOf] of Object.entries(instanceFilters)) {
      const select = clear(filterSelect(name));
      const values = [...new Set(instances.map(valueOf))].sort((a, b) => a.localeCompare(b));
      const wanted = params.get(name) || '';
      if (wanted !== '' && !values.includes(wanted === NONE ? '' : wanted)) {
        values.push(wanted === NONE ? '' : wanted);  // kept, so that the view shows it matches none
      }
      select.append(el('option', {value: '', text: 'all'}));
      for (const value of values) {
        select.append(el('option', {value: value === '' ? NONE : value, text: value || NONE}));
      }
      select.value = wanted;
    }
    renderInstances();
  }

  function renderInstances() {
    const chosen = {};
    const params = new URLSearchParams();
    for (const name of Object.keys(instanceFilters)) {
      const value = filterSelect(name).value;
      if (value !== '') {
        chosen[name] = value === NONE ? '' : value;
        params.set(name, value);
      }
    }
    setQuery(params);
    const rows = clear(byId('instances').tBodies[0]);
    let shown = 0;
    for (const i of instances) {
      const matches = Object.entries(chosen).every(([name, v]) => instanceFilters[name](i) === v);
      if (!matches) {
        continue;
      }
      shown += 1;
      const owner = i.owner || {};
      const organization = textCell('organization', owner.key || '');
      organization.title = ['organization', 'space', 'namespace', 'platform']
                               .filter((k) => owner[k])
                               .map((k) => k + ': ' + owner[k])
                               .join('\n');
      const last = i.last_operation || null;
      rows.append(el('tr', {
        'data-id': i.id,
        'data-catalog': i.catalog,
        'data-organization': owner.key || '',
        'data-plan': instanceFilters.plan(i),
        'data-status': i.status,
      }, [
        textCell('id', i.id, 'id'),
        textCell('catalog', i.catalog),
        textCell('service', i.service || i.service_id),
        textCell('plan', instanceFilters.plan(i)),
        stateCell('status', i.status),
        organization,
        timeCell('created_at', i.created_at),
        numberCell('bindings', i.bindings, formatInteger),
        stateCell('last_operation', last ? last.state : ''),
      ]));
    }
    if (shown === 0) {
      rows.append(emptyRow(9, instances.length ? 'No instance matches the filters.' : 'No instance.'));
    }
    setFigure(byId('instance-count'), shown);
    setFigure(byId('instance-total'), instances.length);
  }

  // --- usage ------------------------------------------------------------------------------------

  const PERIOD_BOUND = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z)?$/;
  const GROUPINGS = ['organization', 'plan', 'catalog', 'instance'];

  function todayUtc() {
    return new Date().toISOString().slice(0, 10);
  }

  // YYYY-MM-DD plus days.
  function addDays(date, days) {
    const d = new Date(date.slice(0, 10) + 'T00:00:00Z');
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  // The period the page shows: from and to as the API takes them (to not included), from the
  // page's query, else the last 30 days (today included).
  function usagePeriod() {
    const params = new URLSearchParams(location.search);
    const today = todayUtc();
    const bound = (name, fallback) => {
      const v = params.get(name);
      return v && PERIOD_BOUND.test(v) ? v : fallback;
    };
    const by = params.get('by');
    return {
      from: bound('from', addDays(today, -29)),
      to: bound('to', addDays(today, 1)),
      by: GROUPINGS.includes(by) ? by : 'organization',
    };
  }

  function usageQuery(period) {
    const params = new URLSearchParams({from: period.from, to: period.to, by: period.by});
    return 'usage?' + params.toString();
  }

  async function usagePage(current) {
    const period = usagePeriod();
    byId('usage-from').value = period.from.slice(0, 10);
    // The "through" day is the last one included: the day before the API's to (a date at
    // midnight UTC), or to's own day when it names a time within it.
    byId('usage-through').value =
        period.to.length === 10 ? addDays(period.to, -1) : period.to.slice(0, 10);
    byId('usage-by').value = period.by;
    const query = usageQuery(period);
    byId('usage-csv').setAttribute('href', apiUrl(query + '&format=csv'));
    const report = await getJson(query);
    if (!current()) {
      return;
    }
    const series = report.series || {points: [], step_seconds: 0};
    const periodLine = byId('usage-period');
    periodLine.setAttribute('data-from', report.from);
    periodLine.setAttribute('data-to', report.to);
    periodLine.setAttribute('data-by', period.by);
    periodLine.textContent = 'From ' + formatTime(report.from) + ' until ' +
                             formatTime(report.to) + ' (not included), by ' + period.by +
                             (series.step_seconds ? '; chart steps of ' +
                                                        describeStep(series.step_seconds)
                                                  : '') + '.';
    byId('usage-key-title').textContent = period.by.charAt(0).toUpperCase() + period.by.slice(1);

    const groups = report.groups || [];
    const rows = clear(byId('usage').tBodies[0]);
    for (const g of groups) {
      rows.append(usageRow({'data-group': g.key}, textCell('key', g.key), g));
    }
    if (groups.length === 0) {
      rows.append(emptyRow(7, 'No usage in this period.'));
    }
    const foot = clear(byId('usage').tFoot);
    foot.append(usageRow({id: 'usage-totals', 'data-total': 'true'},
                         el('td', {'data-field': 'key', text: 'Total'}), report.totals || {}));

    const keys = groups.map((g) => g.key);
    for (const point of series.points || []) {
      for (const key of Object.keys(point.groups || {})) {
        if (!keys.includes(key)) {
          keys.push(key);
        }
      }
    }
    drawChart('chart-instances', series, keys, 'instances', formatDecimal, 1);
    drawChart('chart-storage', series, keys, 'bytes', formatDecimal, GIB);
    const legend = clear(byId('chart-legend'));
    keys.forEach((key, n) => {
      legend.append(el('li', {'data-group': key}, [
        el('span', {class: 'swatch series-' + (n % 8)}),
        key || NONE,
      ]));
    });
  }

  function usageRow(attrs, keyCell, figures) {
    const plans = figures.plans || {};
    const planText = Object.entries(plans)
                         .map(([plan, hours]) => plan + ': ' + formatDecimal(hours) + ' h')
                         .join(', ');
    return el('tr', attrs, [
      keyCell,
      numberCell('instance_hours', figures.instance_hours, formatDecimal),
      el('td', {'data-field': 'plans', 'data-value': JSON.stringify(plans), text: planText}),
      numberCell('storage_gib_hours', figures.storage_gib_hours, formatDecimal),
      numberCell('peak_storage_bytes', figures.peak_storage_bytes, formatBytes),
      numberCell('created', figures.created, formatInteger),
      numberCell('deleted', figures.deleted, formatInteger),
    ]);
  }

  function describeStep(seconds) {
    if (seconds % 86400 === 0) {
      return seconds === 86400 ? 'a day' : seconds / 86400 + ' days';
    }
    return seconds === 3600 ? 'an hour' : seconds / 3600 + ' hours';
  }

  // A round upper bound for an axis: 1, 2, 2.5 or 5 times a power of ten, at least max.
  function niceCeiling(max) {
    if (!(max > 0)) {
      return 1;
    }
    const power = Math.pow(10, Math.floor(Math.log10(max)));
    for (const factor of [1, 2, 2.5, 5, 10]) {
      if (factor * power >= max) {
        return factor * power;
      }
    }
    return 10 * power;
  }

  // One line chart of series.points[*].groups[key][field] (divided by scale) per key, drawn as
  // SVG elements. Each dot keeps the API's exact value in data-value.
  function drawChart(figureId, series, keys, field, format, scale) {
    const figure = byId(figureId);
    for (const old of figure.querySelectorAll('svg')) {
      old.remove();
    }
    const width = 640;
    const height = 260;
    const left = 58;
    const right = 16;
    const top = 12;
    const bottom = 36;
    const plotWidth = width - left - right;
    const plotHeight = height - top - bottom;
    const caption = figure.querySelector('figcaption').textContent;
    const chart = svg('svg', {
      viewBox: '0 0 ' + width + ' ' + height,
      role: 'img',
      'aria-label': caption,
      'data-field': field,
    });
    figure.append(chart);
    const points = series.points || [];
    if (points.length === 0 || keys.length === 0) {
      chart.append(svg('text', {
        x: width / 2,
        y: height / 2,
        'text-anchor': 'middle',
        class: 'no-data',
        text: 'No data in this period',
      }));
      return;
    }
    const times = points.map((p) => Date.parse(p.at));
    const first = times[0];
    const last = times[times.length - 1];
    const x = (t) => last === first ? left + plotWidth / 2
                                    : left + ((t - first) / (last - first)) * plotWidth;
    const valueAt = (point, key) => {
      const g = point.groups && point.groups[key];
      return g && typeof g[field] === 'number' ? g[field] : 0;
    };
    let max = 0;
    for (const point of points) {
      for (const key of keys) {
        max = Math.max(max, valueAt(point, key) / scale);
      }
    }
    const ceiling = niceCeiling(max);
    const y = (v) => top + plotHeight - (v / ceiling) * plotHeight;

    const ticks = 5;
    for (let i = 0; i <= ticks; i += 1) {
      const v = (ceiling * i) / ticks;
      chart.append(svg('line', {
        class: i === 0 ? 'axis' : 'gridline',
        x1: left,
        x2: width - right,
        y1: y(v),
        y2: y(v),
      }));
      chart.append(svg('text', {
        x: left - 6,
        y: y(v) + 4,
        'text-anchor': 'end',
        text: format(v),
      }));
    }
    chart.append(svg('line', {class: 'axis', x1: left, x2: left, y1: top, y2: top + plotHeight}));
    const hourly = series.step_seconds && series.step_seconds % 86400 !== 0;
    const labels = Math.min(points.length, 6);
    const labelled = new Set();
    for (let i = 0; i < labels; i += 1) {
      const index = labels === 1 ? 0 : Math.round((i * (points.length - 1)) / (labels - 1));
      if (labelled.has(index)) {
        continue;
      }
      labelled.add(index);
      const at = points[index].at;
      chart.append(svg('text', {
        x: x(times[index]),
        y: height - bottom + 16,
        'text-anchor': labels === 1 ? 'middle' : i === 0 ? 'start' : i === labels - 1 ? 'end'
                                                                                     : 'middle',
        text: hourly ? at.slice(5, 10) + ' ' + at.slice(11, 16) : at.slice(0, 10),
      }));
    }

    keys.forEach((key, n) => {
      const colour = 'series-' + (n % 8);
      const group = svg('g', {'data-group': key});
      const coordinates = points.map((point, i) => x(times[i]) + ',' + y(valueAt(point, key) / scale));
      if (points.length > 1) {
        group.append(svg('polyline', {class: 'line ' + colour, points: coordinates.join(' ')}));
      }
      points.forEach((point, i) => {
        const raw = point.groups && point.groups[key] ? point.groups[key][field] : 0;
        const dot = svg('circle', {
          class: 'dot ' + colour,
          cx: x(times[i]),
          cy: y(valueAt(point, key) / scale),
          r: points.length > 60 ? 1.5 : 3,
          'data-at': point.at,
          'data-value': raw,
        });
        dot.append(svg('title', {text: (key || NONE) + ', ' + formatTime(point.at) + ': ' +
                                        format(valueAt(point, key) / scale)}));
        group.append(dot);
      });
      chart.append(group);
    });
  }

  function showUsage() {
    const from = byId('usage-from').value;
    const through = byId('usage-through').value;
    if (!from || !through || from > through) {
      setStatus('error', 'Choose a From day no later than the Through day.');
      return;
    }
    setQuery(new URLSearchParams({from, to: addDays(through, 1), by: byId('usage-by').value}));
    load();
  }

  // --- operations -------------------------------------------------------------------------------

  async function operationsPage(current) {
    const failuresOnly = new URLSearchParams(location.search).get('state') === 'failed';
    byId('failures-only').checked = failuresOnly;
    const data = await getJson('operations?limit=100' + (failuresOnly ? '&state=failed' : ''));
    if (!current()) {
      return;
    }
    const operations = data.operations || [];
    const rows = clear(byId('operations').tBodies[0]);
    for (const op of operations) {
      rows.append(el('tr', {
        'data-id': op.id,
        'data-state': op.state,
        class: op.state === 'failed' ? 'failed' : undefined,
      }, [
        timeCell('created_at', op.created_at),
        timeCell('updated_at', op.updated_at),
        textCell('catalog', op.catalog),
        textCell('instance_id', op.instance_id, 'id'),
        textCell('binding_id', op.binding_id, 'id'),
        textCell('kind', op.kind),
        stateCell('state', op.state),
        textCell('description', op.description),
      ]));
    }
    if (operations.length === 0) {
      rows.append(emptyRow(8, failuresOnly ? 'No failed operation.' : 'No operation.'));
    }
    setFigure(byId('operation-count'), operations.length);
  }

  // --- start ------------------------------------------------------------------------------------

  const pages = {
    overview,
    instances: instancesPage,
    usage: usagePage,
    operations: operationsPage,
  };

  function start() {
    const page = document.body.getAttribute('data-page');
    for (const link of document.querySelectorAll('nav a[data-nav]')) {
      if (link.getAttribute('data-nav') === page) {
        link.setAttribute('aria-current', 'page');
      }
    }
    byId('refresh').addEventListener('click', load);
    if (page === 'instances') {
      for (const name of Object.keys(instanceFilters)) {
        filterSelect(name).addEventListener('change', renderInstances);
      }
    }
    if (page === 'usage') {
      byId('usage-show').addEventListener('click', showUsage);
      byId('usage-by').addEventListener('change', showUsage);
    }
    if (page === 'operations') {
      byId('failures-only').addEventListener('change', (event) => {
        setQuery(new URLSearchParams(event.target.checked ? {state: 'failed'} : {}));
        load();
      });
    }
    load();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();
