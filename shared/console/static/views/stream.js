// A stream: its configuration, the write actions (enable, disable, test,
// edit, delete; each change sent with If-Match), and its health over the
// last 7 days, refreshed every 5 s while the page is visible.

import { h, errorBox, statusBadge, time, tableWrap, num, count, ms, utc, confirm, copyButton, fill } from '../dom.js';
import { request, paths, ApiError, plainWords } from '../api.js';
import { navigate, href, setFlash } from '../app.js';
import { typeLabel, FIELDS } from '../destinations.js';
import { lineChart } from '../chart.js';
import { projectHeader } from './projectnav.js';

const REFRESH_MS = 5000;

export async function render(ctx) {
  const { project, stream: id } = ctx.params;
  const [sr, hr] = await Promise.all([
    request('GET', paths.stream(project, id), { signal: ctx.signal }),
    request('GET', paths.health(project, id), { signal: ctx.signal }).then((r) => r, (err) => ({ error: err })),
  ]);
  const view = { ctx, project, stream: sr.data, etag: sr.etag, health: hr.data || null, healthError: hr.error || null, healthKey: '' };

  view.top = h('div');
  view.alert = h('div', { class: 'alert-slot', tabindex: '-1' });
  view.notice = h('div', { class: 'alert-slot', 'aria-live': 'polite' });
  view.testResult = h('div', { class: 'test-result-slot', 'aria-live': 'polite' });
  view.healthBox = h('div');
  view.updated = h('span', { class: 'muted small', 'aria-live': 'off' });

  fill(ctx.main, view.top, flashBox(ctx.flash), view.alert, view.notice, view.testResult,
    h('section', { class: 'section', 'aria-labelledby': 'health-title' },
      h('div', { class: 'section-head' },
        h('h2', { id: 'health-title' }, 'Health'),
        h('div', { class: 'section-tools' }, view.updated,
          h('button', { type: 'button', class: 'btn btn-small', 'data-test': 'refresh', on: { click: () => refreshHealth(view, true) } }, 'Refresh'))),
      view.healthBox),
    detailsSection(view));
  drawTop(view);
  drawHealth(view);

  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') refreshHealth(view, false);
  }, REFRESH_MS);
  const onVisible = () => { if (document.visibilityState === 'visible') refreshHealth(view, false); };
  document.addEventListener('visibilitychange', onVisible);
  ctx.onCleanup(() => { clearInterval(timer); document.removeEventListener('visibilitychange', onVisible); });
}

function flashBox(flash) {
  if (!flash) return null;
  const box = h('div', { class: 'alert alert-ok', role: 'status' }, h('p', {}, flash.text));
  if (flash.secret) {
    box.append(h('div', { class: 'secret-once' },
      h('p', {}, h('strong', {}, 'Signing secret, shown only this once: '), 'store it now in your receiver.'),
      h('code', { class: 'secret', 'data-test': 'signing-secret' }, flash.secret), ' ', copyButton(() => flash.secret)));
  }
  if (flash.backfill) {
    const b = flash.backfill;
    box.append(h('p', {}, `Backfill job ${b.id} is ${b.state}` + (b.not_before ? `; it starts after ${utc(b.not_before)}.` : '.'),
      ' ', h('a', { href: href('p', flash.project || b.project_id, 'replays') }, 'See replays')));
  }
  return box;
}

function drawTop(view) {
  const { ctx, project, stream: st } = view;
  const actions = [];
  if (ctx.canWrite) {
    if (st.status === 'active') {
      actions.push(h('button', { type: 'button', class: 'btn', 'data-test': 'disable', on: { click: () => setStatus(view, 'disable') } }, 'Pause'));
    } else {
      actions.push(h('button', { type: 'button', class: 'btn btn-primary', 'data-test': 'enable', on: { click: () => setStatus(view, 'enable') } }, 'Enable'));
    }
    actions.push(
      h('button', { type: 'button', class: 'btn', 'data-test': 'test', on: { click: () => sendTest(view) } }, 'Send test event'),
      h('a', { class: 'btn', href: href('p', project, 's', st.id, 'edit'), 'data-test': 'edit' }, 'Edit'),
      h('button', { type: 'button', class: 'btn btn-danger', 'data-test': 'delete', on: { click: () => remove(view) } }, 'Delete'));
  }
  const redriveOpt = ctx.canWrite && st.status === 'suspended'
    ? h('div', { class: 'field-check inline-check' },
      h('input', { type: 'checkbox', id: 'enable-redrive', checked: true }),
      h('label', { for: 'enable-redrive' }, 'When enabling, also redrive its dead letters'))
    : null;
  fill(view.top, 
    projectHeader(project, 'streams', st.name, ...actions),
    h('div', { class: 'stream-meta' },
      statusBadge(st.status, st.status_reason),
      h('span', {}, typeLabel(st.destination_type)),
      h('span', { class: 'mono small muted' }, st.id),
      h('span', { class: 'muted small' }, `version ${st.version}`)),
    st.status === 'suspended'
      ? h('p', { class: 'note' }, 'logstream suspended this stream' + (st.status_reason ? ` (${st.status_reason})` : '') +
        '. Events queued for it were kept as dead letters; enabling it resumes delivery of new events.')
      : st.status === 'paused' ? h('p', { class: 'note' }, 'Paused: events accepted now are not delivered to this stream, not even after it is enabled again.') : null,
    redriveOpt);
  if (view.details) fillDetails(view);
}

async function setStatus(view, action) {
  const { project, stream: st } = view;
  fill(view.alert);
  fill(view.notice);
  const body = action === 'enable' && st.status === 'suspended'
    ? { redrive_dead_letters: !!(document.getElementById('enable-redrive') || {}).checked }
    : undefined;
  try {
    const r = await request('POST', action === 'enable' ? paths.enable(project, st.id) : paths.disable(project, st.id), { etag: view.etag, body });
    const dl = r.data.dead_letters;
    delete r.data.dead_letters;
    view.stream = r.data;
    view.etag = r.etag || view.etag;
    drawTop(view);
    const done = action === 'enable' ? 'Enabled: new events are delivered again.' : 'Paused: new events are not delivered to this stream.';
    const extra = [];
    if (dl && dl.events > 0) {
      extra.push(dl.redrive_job
        ? ` Redriving its ${count(dl.events, 'dead event')} (job ${dl.redrive_job.id}).`
        : ` ${count(dl.events, 'dead event')} ${dl.events === 1 ? 'waits' : 'wait'} for it.`);
    }
    fill(view.notice, h('div', { class: 'alert alert-ok', role: 'status' }, done, extra,
      dl && dl.events > 0 ? [' ', h('a', { href: href('p', project, 'dead-letters') }, 'See dead letters')] : null));
    focusAction(view, action === 'enable' ? 'disable' : 'enable');
    refreshHealth(view, false);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'precondition_failed') {
      await reload(view);
      fill(view.alert, errorBox('This stream was changed by someone else — reloaded. Check its status and try again.'));
      return;
    }
    fill(view.alert, errorBox(plainWords(err)));
  }
}

function focusAction(view, test) {
  const el = view.top.querySelector(`[data-test=${test}]`);
  if (el) el.focus();
}

async function reload(view) {
  const r = await request('GET', paths.stream(view.project, view.stream.id));
  view.stream = r.data;
  view.etag = r.etag;
  drawTop(view);
}

async function sendTest(view) {
  const btn = view.top.querySelector('[data-test=test]');
  fill(view.alert);
  fill(view.testResult, h('p', { class: 'muted' }, 'Sending a test event…'));
  if (btn) btn.disabled = true;
  try {
    const { data } = await request('POST', paths.test(view.project, view.stream.id));
    fill(view.testResult, h('div', {
      class: 'alert ' + (data.ok ? 'alert-ok' : 'alert-warn'), 'data-test': 'test-result', 'data-ok': String(!!data.ok),
    },
    h('p', {}, h('strong', {}, data.ok ? 'The destination accepted the test event' : 'The destination did not accept the test event'),
      data.status_code ? ` (HTTP ${data.status_code})` : ' (no HTTP answer)', '.'),
    data.message ? h('p', {}, 'It answered: ', h('code', { class: 'answer' }, data.message)) : null));
  } catch (err) {
    fill(view.testResult, h('div', { 'data-test': 'test-result', 'data-ok': 'false' }, errorBox(plainWords(err))));
  } finally {
    if (btn) btn.disabled = false;
  }
}

async function remove(view) {
  const { project, stream: st } = view;
  const yes = await confirm('Delete this stream?',
    `“${st.name}” stops receiving events and its queued events are dropped. This cannot be undone.`, 'Delete stream');
  if (!yes) return;
  try {
    await request('DELETE', paths.stream(project, st.id));
    setFlash({ kind: 'ok', text: `Deleted “${st.name}”.` });
    navigate(href('p', project));
  } catch (err) {
    fill(view.alert, errorBox(plainWords(err)));
  }
}

async function refreshHealth(view, byHand) {
  try {
    const { data } = await request('GET', paths.health(view.project, view.stream.id), { signal: view.ctx.signal });
    view.health = data;
    view.healthError = null;
    // Someone else paused or enabled it, or logstream suspended it: show
    // the stream as it is now, with its new version for If-Match.
    if (data.status && data.status !== view.stream.status) await reload(view);
  } catch (err) {
    if (err && err.name === 'AbortError') return;
    view.healthError = err;
  }
  if (view.ctx.signal.aborted) return;
  drawHealth(view, byHand);
}

function drawHealth(view, force) {
  const now = new Date();
  view.updated.textContent = 'Updated ' + now.toISOString().slice(11, 19) + ' UTC';
  const key = JSON.stringify([view.health, view.healthError && view.healthError.message]);
  if (!force && key === view.healthKey) return;
  view.healthKey = key;
  const hl = view.health;
  if (!hl) {
    fill(view.healthBox, errorBox('Health could not be read: ' + plainWords(view.healthError)));
    return;
  }
  const waiting = Object.values(hl.dead_letters || {}).reduce((a, c) => a + (c.count || 0), 0);
  const stat = (label, value, test, hint) => h('div', { class: 'stat' },
    h('div', { class: 'stat-label' }, label),
    h('div', { class: 'stat-value', 'data-test': test, 'data-value': value === null || value === undefined ? '' : String(value) }, num(value)),
    hint ? h('div', { class: 'stat-hint' }, hint) : null);
  const failing = hl.failing_since
    ? h('div', { class: 'alert alert-warn', 'data-test': 'failing' },
      h('strong', {}, 'Failing since ', utc(hl.failing_since), '.'),
      ' No event has been delivered since then',
      hl.suspends_at ? [': logstream suspends this stream at ', utc(hl.suspends_at), ' unless one is.'] : '.',
      hl.permanent_failures ? ` The destination refused it for good ${count(hl.permanent_failures, 'time')} in a row.` : '')
    : null;
  const parts = [
    view.healthError ? errorBox('The last refresh failed: ' + plainWords(view.healthError)) : null,
    failing,
    h('div', { class: 'stats' },
      stat('Delivered', hl.delivered_events, 'delivered-total', 'events accepted, ever'),
      stat('Parked', hl.failed_events, 'parked-total', 'events sent to dead letters, ever'),
      stat('Retried', hl.retried_attempts, 'retried-total', 'failed attempts tried again'),
      stat('Dead letters waiting', waiting, 'dead-letters-waiting', h('a', { href: href('p', view.project, 'dead-letters') }, 'see dead letters'))),
    h('dl', { class: 'facts' },
      fact('Last success', time(hl.last_success_at)),
      fact('Last error', hl.last_error ? [h('span', { class: 'error-text' }, hl.last_error), h('div', {}, time(hl.last_error_at))] : h('span', { class: 'muted' }, 'none')),
      hl.failing_since ? fact('Failing since', time(hl.failing_since)) : null,
      hl.suspends_at ? fact('Suspends at', time(hl.suspends_at)) : null,
      hl.permanent_failures ? fact('Refusals in a row', num(hl.permanent_failures)) : null,
      hl.dead_letters_expired ? fact('Dead letters expired', num(hl.dead_letters_expired)) : null),
  ];
  if (!Array.isArray(hl.hourly) || !hl.hourly.length) {
    parts.push(h('p', { class: 'note' }, 'Hourly history is not available from this API yet: the totals above are all there is.'));
  } else {
    parts.push(hourly(hl.hourly, view));
  }
  // A refresh redraws the figures; whoever was on a control inside them
  // stays on it, and the table keeps its choices.
  const focused = view.healthBox.contains(document.activeElement) ? document.activeElement.id : '';
  fill(view.healthBox, ...parts.filter(Boolean));
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus({ preventScroll: true });
}

function fact(term, value) {
  return h('div', { class: 'fact' }, h('dt', {}, term), h('dd', {}, value));
}

function hourly(hours, view) {
  const labels = hours.map((x) => x.hour);
  const charts = h('div', { class: 'charts' },
    lineChart({
      title: 'Events per hour, last 7 days (UTC)',
      empty: 'No events delivered, retried or parked in these 7 days',
      hours: labels,
      series: [
        { name: 'Delivered', values: hours.map((x) => x.delivered || 0), color: '#2f7d4f' },
        { name: 'Failed attempts (retried)', values: hours.map((x) => x.failed || 0), color: '#b7791f', dash: '6 4' },
        { name: 'Parked', values: hours.map((x) => x.parked || 0), color: '#c0392b', dash: '2 3' },
      ],
    }),
    lineChart({
      title: 'Mean delivery lag per hour, last 7 days (UTC)',
      empty: 'No deliveries in these 7 days, so no lag to show',
      zeroIsData: true,
      hours: labels,
      series: [{ name: 'Mean lag (ingested to acknowledged)', values: hours.map((x) => (x.lag_ms === undefined ? null : x.lag_ms)), color: '#3b5b92' }],
      format: ms,
    }));

  const active = (x) => (x.delivered || 0) + (x.failed || 0) + (x.parked || 0) > 0 || (x.lag_ms !== null && x.lag_ms !== undefined);
  const showAll = h('input', { type: 'checkbox', id: 'health-all-hours', checked: !!view.showAllHours });
  const tbody = h('tbody');
  const caption = h('caption');
  const fillRows = () => {
    const rows = hours.slice().reverse().filter((x) => showAll.checked || active(x));
    caption.textContent = showAll.checked
      ? 'Every hour of the last 7 days, newest first (UTC)'
      : 'Hours with traffic in the last 7 days, newest first (UTC); hours without any are left out';
    fill(tbody, ...(rows.length ? rows.map((x) => h('tr', {},
      h('th', { scope: 'row' }, h('time', { datetime: x.hour }, x.hour.slice(0, 13).replace('T', ' ') + ':00')),
      h('td', { class: 'num' }, num(x.delivered || 0)),
      h('td', { class: 'num' }, num(x.failed || 0)),
      h('td', { class: 'num' }, num(x.parked || 0)),
      h('td', { class: 'num' }, ms(x.lag_ms)))) : [h('tr', {}, h('td', { colspan: '5', class: 'empty' }, 'No traffic in the last 7 days.'))]));
  };
  showAll.addEventListener('change', () => { view.showAllHours = showAll.checked; fillRows(); });
  fillRows();
  const table = h('table', { class: 'table table-compact', 'data-test': 'health-table' },
    caption,
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, 'Hour (UTC)'),
      h('th', { scope: 'col', class: 'num' }, 'Delivered'),
      h('th', { scope: 'col', class: 'num' }, 'Failed attempts'),
      h('th', { scope: 'col', class: 'num' }, 'Parked'),
      h('th', { scope: 'col', class: 'num' }, 'Mean lag'))),
    tbody);
  return h('div', {}, charts,
    h('details', { class: 'hourly-table', open: view.tableClosed ? null : true, on: { toggle: (e) => { view.tableClosed = !e.target.open; } } },
      h('summary', {}, 'Hourly figures as a table'),
      h('div', { class: 'field-check inline-check' }, showAll, h('label', { for: 'health-all-hours' }, 'Show hours without traffic')),
      tableWrap(table, 'Hourly delivery figures')));
}

function detailsSection(view) {
  view.details = h('div');
  fillDetails(view);
  return h('section', { class: 'section', 'aria-labelledby': 'config-title' }, h('h2', { id: 'config-title' }, 'Configuration'), view.details);
}

function fillDetails(view) {
  const st = view.stream;
  const cfg = st.destination_config || {};
  const rows = [];
  for (const f of FIELDS[st.destination_type] || []) {
    if (f.kind === 'secret') {
      const lf = cfg[f.key + '_last_four'];
      if (lf !== undefined) rows.push(fact(f.label, h('span', { class: 'mono' }, lf ? `…${lf}` : 'stored (too short to show its last four)')));
      continue;
    }
    const v = cfg[f.key];
    if (v === undefined || v === null || v === '' || f.kind === 'bool' && f.onlyIfSet) continue;
    let shown;
    if (Array.isArray(v)) shown = v.join(', ');
    else if (typeof v === 'object') shown = Object.entries(v).map(([k, x]) => (f.sep === '=' ? `${k}=${x}` : `${k}: ${x}`)).join('; ');
    else if (typeof v === 'boolean') shown = v ? 'yes' : 'no';
    else shown = String(v);
    rows.push(fact(f.label, h('span', { class: 'mono wrap' }, shown)));
  }
  rows.push(fact('Created', time(st.created_at)), fact('Updated', time(st.updated_at)));
  const json = (title, v) => (v ? h('div', { class: 'json-block' }, h('h3', {}, title), h('pre', { class: 'mono', tabindex: '0' }, JSON.stringify(v, null, 2))) : null);
  fill(view.details, h('dl', { class: 'facts' }, rows),
    json('Filters', st.filters), json('PII masking', st.pii), json('Suspension', st.suspension));
}
