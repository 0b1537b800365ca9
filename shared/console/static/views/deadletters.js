// Dead letters: the summary by reason, a page at a time through the events,
// and redrive and purge as jobs whose progress is polled until they end.

import { h, errorBox, time, tableWrap, num, count, confirm, idempotencyKey, stateBadge, fill } from '../dom.js';
import { request, paths, listStreams, plainWords } from '../api.js';
import { href } from '../app.js';
import { barChart } from '../chart.js';
import { projectHeader } from './projectnav.js';

const PAGE = 25;
const POLL_MS = 1000;
const FINAL = new Set(['succeeded', 'failed']);

export const REASONS = {
  permanent: 'The destination refused the stream for good (bad credentials, no permission).',
  rejected: 'The destination refused these events.',
  too_large: 'An event was too large for the destination.',
  gone: 'The destination no longer exists; the stream was suspended.',
  exhausted: 'Delivery kept failing until its retries ran out.',
  suspended: 'The events came for a suspended stream.',
  unrecorded: 'Moved to the DLQ after a crash, with no reason recorded.',
  undecodable: 'A DLQ message that is not a delivery message, kept whole.',
};

export async function render(ctx) {
  const { project } = ctx.params;
  // Dead letters stand without the stream list (it names the streams and
  // fills the filter): if it cannot be read, say so and show the rest.
  let streams = [];
  let streamsError = null;
  try {
    streams = await listStreams(project, ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    streamsError = err;
  }
  const names = new Map(streams.map((s) => [s.id, s.name]));

  const v = {
    ctx, project, names, cursor: null, cursors: [],
    summary: h('section', { class: 'section', 'data-test': 'dl-summary', 'aria-labelledby': 'dl-summary-title' }),
    events: h('section', { class: 'section', 'aria-labelledby': 'dl-events-title' }),
    jobs: h('section', { class: 'section', 'aria-labelledby': 'dl-jobs-title' }),
    job: h('div', { class: 'job-slot', 'aria-live': 'polite' }),
    alert: h('div', { class: 'alert-slot', tabindex: '-1' }),
    polling: null,
  };
  ctx.onCleanup(() => { if (v.polling) clearTimeout(v.polling); });

  v.streamSelect = h('select', { id: 'dl-stream', name: 'stream_id' },
    h('option', { value: '' }, 'All streams'),
    streams.map((s) => h('option', { value: s.id }, `${s.name} (${s.status})`)));
  v.reasonSelect = h('select', { id: 'dl-reason', name: 'reason' },
    h('option', { value: '' }, 'All reasons'),
    Object.keys(REASONS).map((r) => h('option', { value: r }, r)));
  const onFilter = () => { v.cursor = null; v.cursors = []; loadAll(v); };
  v.streamSelect.addEventListener('change', onFilter);
  v.reasonSelect.addEventListener('change', onFilter);

  const actions = ctx.canWrite ? h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'btn btn-primary', 'data-test': 'redrive', on: { click: () => startJob(v, 'redrive') } }, 'Redrive'),
    h('button', { type: 'button', class: 'btn btn-danger', 'data-test': 'purge', on: { click: () => startJob(v, 'purge') } }, 'Purge'),
    h('p', { class: 'help' }, 'Both act on the dead letters the filter selects. Redrive sends them to their stream again (active streams only); purge deletes them for good.')) : null;

  fill(ctx.main, 
    projectHeader(project, 'dead-letters', 'Dead letters'),
    h('p', { class: 'lead' }, 'Events that ended undelivered, each with why. They are kept for a limited time, then expire.'),
    streamsError ? errorBox('The project’s streams could not be listed, so they show by id: ' + plainWords(streamsError)) : null,
    h('form', { class: 'card filters', novalidate: true, 'aria-label': 'Filter dead letters', on: { submit: (e) => e.preventDefault() } },
      h('div', { class: 'field' }, h('label', { for: 'dl-stream' }, 'Stream'), v.streamSelect),
      h('div', { class: 'field' }, h('label', { for: 'dl-reason' }, 'Reason'), v.reasonSelect),
      actions),
    v.alert, v.job, v.summary, v.events, v.jobs);
  await loadAll(v);
}

function filter(v) {
  return { stream_id: v.streamSelect.value, reason: v.reasonSelect.value };
}

async function loadAll(v) {
  v.ctx.setBusy(true);
  await Promise.all([loadSummary(v), loadEvents(v), loadJobs(v)]);
  if (!v.ctx.signal.aborted) v.ctx.setBusy(false);
}

async function loadSummary(v) {
  const f = filter(v);
  try {
    const { data } = await request('GET', paths.deadLetters(v.project), { query: { stream_id: f.stream_id }, signal: v.ctx.signal });
    let reasons = data.reasons || [];
    if (f.reason) reasons = reasons.filter((r) => r.reason === f.reason);
    const title = h('h2', { id: 'dl-summary-title' }, 'Summary by reason');
    if (!reasons.length) {
      fill(v.summary, title, h('p', { class: 'empty' }, 'No dead letters. Every event was delivered or is still being tried.'),
        expiryNote(data));
      return;
    }
    const rows = reasons.map((r) => h('tr', { 'data-test': 'dl-reason', 'data-reason': r.reason },
      h('th', { scope: 'row', class: 'reason-cell' }, h('span', { class: 'mono' }, r.reason), h('div', { class: 'help' }, REASONS[r.reason] || '')),
      h('td', { class: 'num' }, num(r.events)),
      h('td', { class: 'num' }, num(r.letters)),
      h('td', {}, time(r.oldest_at)),
      h('td', {}, time(r.newest_at))));
    fill(v.summary, title,
      h('p', {}, h('strong', {}, count(data.events, 'dead event')), ' waiting in ', count(data.letters, 'letter'),
        data.expiring_within_24h ? [', ', h('strong', {}, num(data.expiring_within_24h)), ' of them expire within 24 hours'] : null, '.'),
      barChart({ title: 'Dead events by reason', bars: reasons.map((r) => ({ label: r.reason, value: r.events })), color: '#8a5a44' }),
      tableWrap(h('table', { class: 'table' },
        h('caption', { class: 'visually-hidden' }, 'Dead letters by reason'),
        h('thead', {}, h('tr', {}, ['Reason', 'Events', 'Letters', 'Oldest parked', 'Newest parked'].map((t, i) => h('th', { scope: 'col', class: i === 1 || i === 2 ? 'num' : null }, t)))),
        h('tbody', {}, rows)), 'Dead letters by reason'),
      byStream(v, data, f),
      expiryNote(data));
  } catch (err) {
    if (err && err.name === 'AbortError') return;
    fill(v.summary, h('h2', { id: 'dl-summary-title' }, 'Summary by reason'), errorBox(plainWords(err)));
  }
}

// byStream lists which streams the dead letters belong to, when the page
// shows more than one.
function byStream(v, data, f) {
  const streams = (data.streams || []).filter((st) => st.events > 0);
  if (f.stream_id || streams.length < 2) return null;
  return [h('h3', {}, 'By stream'), tableWrap(h('table', { class: 'table table-compact' },
    h('caption', { class: 'visually-hidden' }, 'Dead letters by stream'),
    h('thead', {}, h('tr', {}, ['Stream', 'Events', 'Letters', 'Reasons'].map((t, i) => h('th', { scope: 'col', class: i === 1 || i === 2 ? 'num' : null }, t)))),
    h('tbody', {}, streams.map((st) => h('tr', { 'data-test': 'dl-stream', 'data-stream-id': st.stream_id },
      h('th', { scope: 'row', class: 'name-cell' }, st.stream_id
        ? h('a', { href: href('p', v.project, 's', st.stream_id) }, v.names.get(st.stream_id) || st.stream_id)
        : h('span', { class: 'muted' }, 'no stream (undecodable)')),
      h('td', { class: 'num' }, num(st.events)),
      h('td', { class: 'num' }, num(st.letters)),
      h('td', { class: 'mono small' }, (st.reasons || []).map((r) => `${r.reason} ${num(r.events)}`).join(', ')))))), 'Dead letters by stream')];
}

function expiryNote(data) {
  return h('p', { class: 'help' }, `Dead letters are kept ${data.retention_days} days.` +
    (data.expired_events ? ` ${num(data.expired_events)} expired unredriven so far.` : ''));
}

async function loadEvents(v) {
  const f = filter(v);
  const title = h('h2', { id: 'dl-events-title' }, 'Events');
  try {
    const { data } = await request('GET', paths.deadLetterEvents(v.project), {
      query: { stream_id: f.stream_id, reason: f.reason, limit: PAGE, cursor: v.cursor }, signal: v.ctx.signal,
    });
    const list = data.data || [];
    const pageNo = v.cursors.length + 1;
    const pager = h('div', { class: 'pager' },
      v.cursors.length ? h('button', { type: 'button', class: 'btn btn-small', 'data-test': 'dl-first', on: { click: () => { v.cursor = null; v.cursors = []; loadEvents(v); } } }, 'First page') : null,
      h('span', { class: 'muted small' }, `Page ${pageNo}`),
      data.next_cursor ? h('button', {
        type: 'button', class: 'btn btn-small', 'data-test': 'dl-next',
        on: { click: () => { v.cursors.push(v.cursor); v.cursor = data.next_cursor; loadEvents(v); } },
      }, 'Next page') : null);
    if (!list.length) {
      fill(v.events, title, h('div', { 'data-test': 'dl-events' }, h('p', { class: 'empty' }, pageNo > 1 ? 'No more events.' : 'No dead events match.')), pager);
      return;
    }
    const rows = list.map((ev) => {
      const evId = ev.event && typeof ev.event === 'object' && !Array.isArray(ev.event) ? ev.event.event_id : '';
      const type = ev.event && typeof ev.event === 'object' && !Array.isArray(ev.event) ? ev.event.type : '';
      return h('tr', { 'data-test': 'dl-event', 'data-event-id': evId || '' },
        h('td', {}, time(ev.parked_at)),
        h('td', { class: 'name-cell' }, ev.stream_id ? h('a', { href: href('p', v.project, 's', ev.stream_id) }, v.names.get(ev.stream_id) || ev.stream_id) : h('span', { class: 'muted' }, 'none')),
        h('td', {}, h('span', { class: 'mono' }, ev.reason)),
        h('td', { class: 'error-cell' }, h('span', { class: 'error-text' }, ev.error || '')),
        h('td', { class: 'num' }, num(ev.receive_count)),
        h('td', { class: 'event-cell' }, h('details', {},
          h('summary', {}, [type, evId].filter(Boolean).join(' · ') || 'event'),
          h('pre', { class: 'mono event-json', tabindex: '0' }, JSON.stringify(ev.event, null, 2)))));
    });
    fill(v.events, title, h('div', { 'data-test': 'dl-events' }, tableWrap(h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden' }, `Dead events, page ${pageNo}`),
      h('thead', {}, h('tr', {}, ['Parked', 'Stream', 'Reason', 'Error', 'Receives', 'Event'].map((t, i) => h('th', { scope: 'col', class: i === 4 ? 'num' : null }, t)))),
      h('tbody', {}, rows)), 'Dead events')), pager);
  } catch (err) {
    if (err && err.name === 'AbortError') return;
    fill(v.events, title, errorBox(plainWords(err)));
  }
}

async function loadJobs(v) {
  const title = h('h2', { id: 'dl-jobs-title' }, 'Recent redrive and purge jobs');
  try {
    const { data } = await request('GET', paths.deadLetterJobs(v.project), { query: { limit: 10 }, signal: v.ctx.signal });
    const list = data.data || [];
    if (!list.length) {
      fill(v.jobs, title, h('p', { class: 'empty' }, 'No jobs yet.'));
      return;
    }
    fill(v.jobs, title, tableWrap(h('table', { class: 'table table-compact' },
      h('caption', { class: 'visually-hidden' }, 'Recent jobs'),
      h('thead', {}, h('tr', {}, ['Job', 'Kind', 'State', 'Progress', 'Started'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.map((j) => h('tr', { 'data-test': 'dl-job', 'data-job-id': j.id, 'data-state': j.state },
        h('th', { scope: 'row', class: 'mono small' }, j.id),
        h('td', {}, j.kind + (j.dry_run ? ' (dry run)' : '')),
        h('td', {}, stateBadge(j.state)),
        h('td', {}, progressText(j)),
        h('td', {}, time(j.created_at)))))), 'Recent jobs'));
  } catch (err) {
    if (err && err.name === 'AbortError') return;
    fill(v.jobs, title, errorBox(plainWords(err)));
  }
}

function progressText(j) {
  const p = j.progress || {};
  const verb = j.kind === 'purge' ? 'purged' : 'redriven';
  let text = `${num(p.done || 0)} of ${count(p.total || 0, 'event')} ${verb}`;
  const skipped = Object.entries(p.skipped || {}).filter(([, n]) => n > 0);
  if (skipped.length) text += '; skipped: ' + skipped.map(([why, n]) => `${num(n)} (${why.replace(/_/g, ' ')})`).join(', ');
  if (j.error) text += '. Error: ' + j.error;
  return text;
}

async function startJob(v, kind) {
  const f = filter(v);
  const scope = (f.stream_id ? `the stream “${v.names.get(f.stream_id) || f.stream_id}”` : 'every stream of this project') +
    (f.reason ? `, reason ${f.reason}` : '');
  if (kind === 'purge') {
    const yes = await confirm('Purge dead letters?', `This deletes the dead events of ${scope} for good. They cannot be redriven afterwards.`, 'Purge');
    if (!yes) return;
  }
  fill(v.alert);
  const body = { filter: {} };
  if (f.stream_id) body.filter.stream_id = f.stream_id;
  if (f.reason) body.filter.reasons = [f.reason];
  try {
    const { data } = await request('POST', kind === 'redrive' ? paths.redrive(v.project) : paths.purge(v.project), {
      body, headers: { 'Idempotency-Key': idempotencyKey(kind) },
    });
    showJob(v, data);
    poll(v, data.id);
  } catch (err) {
    fill(v.alert, errorBox(plainWords(err)));
    v.alert.focus();
  }
}

function showJob(v, j) {
  const p = j.progress || {};
  const total = p.total || 0;
  const done = p.done || 0;
  const bar = h('progress', { max: String(Math.max(total, 1)), value: String(FINAL.has(j.state) && !total ? 1 : done), 'aria-label': `${j.kind} progress` });
  fill(v.job, h('div', { class: 'card job', 'data-test': 'job-progress', 'data-state': j.state, 'data-job-id': j.id },
    h('p', {}, h('strong', {}, j.kind === 'purge' ? 'Purge' : 'Redrive'), ' ', h('span', { class: 'mono small' }, j.id), ' ', stateBadge(j.state), ' '),
    bar,
    h('p', { class: 'job-counts' }, progressText(j) + '.')));
}

function poll(v, id) {
  if (v.polling) clearTimeout(v.polling);
  const tick = async () => {
    try {
      const { data } = await request('GET', paths.deadLetterJob(v.project, id), { signal: v.ctx.signal });
      showJob(v, data);
      if (FINAL.has(data.state)) {
        v.polling = null;
        v.cursor = null;
        v.cursors = [];
        await loadAll(v);
        return;
      }
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      fill(v.alert, errorBox('Could not read the job’s progress: ' + plainWords(err)));
    }
    v.polling = setTimeout(tick, POLL_MS);
  };
  v.polling = setTimeout(tick, POLL_MS);
}
