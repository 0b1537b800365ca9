// Replays: pick a stream and a window (UTC), size it with a dry run, start
// it, and watch the project's replay jobs until they end.

import { h, errorBox, time, tableWrap, num, bytes, duration, idempotencyKey, stateBadge, utc, fill } from '../dom.js';
import { request, paths, listStreams, plainWords } from '../api.js';
import { href } from '../app.js';
import { projectHeader } from './projectnav.js';

const POLL_MS = 2000;
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

// localValue is a datetime-local value for a Date, in UTC (the form says so).
function localValue(d) {
  return d.toISOString().slice(0, 16);
}

function toISO(value) {
  if (!value) return '';
  return (value.length === 16 ? value + ':00' : value) + 'Z';
}

export async function render(ctx) {
  const { project } = ctx.params;
  const streams = await listStreams(project, ctx.signal);
  const names = new Map(streams.map((s) => [s.id, s.name]));
  const v = {
    ctx, project, names,
    alert: h('div', { class: 'alert-slot', tabindex: '-1' }),
    size: h('div', { class: 'size-slot', 'aria-live': 'polite' }),
    jobs: h('section', { class: 'section', 'aria-labelledby': 'replay-jobs-title' }),
    polling: null,
  };
  ctx.onCleanup(() => { if (v.polling) clearTimeout(v.polling); });

  // The default window: the last whole hour.
  const hourStart = new Date();
  hourStart.setUTCMinutes(0, 0, 0);
  const from = h('input', { id: 'replay-from', name: 'since', type: 'datetime-local', value: localValue(new Date(hourStart.getTime() - 3600e3)), 'aria-describedby': 'replay-window-help' });
  const to = h('input', { id: 'replay-to', name: 'until', type: 'datetime-local', value: localValue(hourStart), 'aria-describedby': 'replay-window-help' });
  const streamSelect = h('select', { id: 'replay-stream', name: 'stream_id' },
    streams.map((s) => h('option', { value: s.id, disabled: s.status !== 'active' }, `${s.name}${s.status === 'active' ? '' : ` (${s.status}: enable it to replay)`}`)));
  const firstActive = streams.find((s) => s.status === 'active');
  if (firstActive) streamSelect.value = firstActive.id;
  v.form = { from, to, streamSelect };

  const dry = h('button', { type: 'button', class: 'btn', 'data-test': 'replay-dry-run', on: { click: () => dryRun(v) } }, 'Size it (dry run)');
  const start = h('button', { type: 'button', class: 'btn btn-primary', 'data-test': 'replay-start', on: { click: () => startReplay(v) } }, 'Start replay');

  const form = !ctx.canWrite
    ? h('p', { class: 'note' }, 'This key may read replays but not start or cancel them.')
    : streams.length ? h('form', { class: 'card form', novalidate: true, 'aria-labelledby': 'replay-form-title', on: { submit: (e) => e.preventDefault() } },
      h('h2', { id: 'replay-form-title' }, 'Replay a window'),
      h('div', { class: 'field' }, h('label', { for: 'replay-stream' }, 'Stream'), streamSelect),
      h('div', { class: 'field-row' },
        h('div', { class: 'field' }, h('label', { for: 'replay-from' }, 'From (UTC, included)'), from),
        h('div', { class: 'field' }, h('label', { for: 'replay-to' }, 'To (UTC, excluded)'), to)),
      h('p', { id: 'replay-window-help', class: 'help' },
        'Times are UTC. The archive keeps the last 7 days; the end may not be in the future. Events are sent as the stream’s filters and masking are now, with their original event_id, so receivers can drop ones they already have.'),
      h('div', { class: 'actions' }, dry, start),
      v.size)
    : h('div', { class: 'card empty' }, h('p', {}, 'This project has no streams to replay to.'));

  fill(ctx.main, projectHeader(project, 'replays', 'Replays'),
    h('p', { class: 'lead' }, 'Send a stream a window of this project’s past events again, from the event archive.'),
    v.alert, form, v.jobs);
  await loadJobs(v);
}

function request_(v, dryRunOnly) {
  const { from, to, streamSelect } = v.form;
  const body = { since: toISO(from.value) };
  if (to.value) body.until = toISO(to.value);
  if (dryRunOnly) body.dry_run = true;
  return { stream: streamSelect.value, body };
}

async function dryRun(v) {
  fill(v.alert);
  const { stream, body } = request_(v, true);
  if (!stream) { fill(v.alert, errorBox('Pick an active stream first.')); return; }
  fill(v.size, h('p', { class: 'muted' }, 'Sizing the window…'));
  try {
    const { data } = await request('POST', paths.replay(v.project, stream), { body });
    const s = data.size || {};
    fill(v.size, h('div', { class: 'alert alert-info', 'data-test': 'replay-size', 'data-events': String(s.events || 0) },
      h('p', {}, h('strong', {}, `${num(s.events)} events`), ` in ${num(s.objects)} archive objects, ${bytes(s.bytes)} (${bytes(s.stored_bytes)} stored), over ${num(s.partitions)} hours with events.`),
      h('p', {}, `Window ${utc(data.since)} to ${utc(data.until)}. At ${num(data.rate)} events a second it takes up to ${duration(data.estimated_seconds)}.`),
      s.exact ? null : h('p', { class: 'help' }, 'The window does not start and end on whole hours, so these counts include the rest of its first and last hours: an upper bound. The stream’s filters can only make it smaller.')));
  } catch (err) {
    fill(v.size);
    fill(v.alert, errorBox(plainWords(err)));
    v.alert.focus();
  }
}

async function startReplay(v) {
  fill(v.alert);
  const { stream, body } = request_(v, false);
  if (!stream) { fill(v.alert, errorBox('Pick an active stream first.')); return; }
  try {
    const { data } = await request('POST', paths.replay(v.project, stream), { body, headers: { 'Idempotency-Key': idempotencyKey('console-replay') } });
    fill(v.size, h('div', { class: 'alert alert-ok', role: 'status' }, `Replay ${data.id} started (${data.state}).`));
    await loadJobs(v);
  } catch (err) {
    fill(v.alert, errorBox(plainWords(err)));
    v.alert.focus();
  }
}

async function cancel(v, job, btn) {
  fill(v.alert);
  btn.disabled = true;
  try {
    await request('POST', paths.replayCancel(v.project, job.id));
    await loadJobs(v);
  } catch (err) {
    btn.disabled = false;
    fill(v.alert, errorBox(plainWords(err)));
    v.alert.focus();
  }
}

function progress(j) {
  const p = j.progress || {};
  const total = p.total || (j.size && j.size.events) || 0;
  let text = `${num(p.sent || 0)} sent of ${num(total)} events`;
  if (p.filtered) text += `, ${num(p.filtered)} filtered out`;
  if (p.duplicates) text += `, ${num(p.duplicates)} duplicates skipped`;
  text += `; ${num(p.hours_done || 0)} of ${num(p.hours || 0)} hours read`;
  if (j.state === 'queued' && j.not_before) text += `; starts after ${utc(j.not_before)}`;
  if (j.cancel_requested && !FINAL.has(j.state)) text += '; cancelling';
  if (j.error) text += `. ${j.error}`;
  return text;
}

async function loadJobs(v) {
  if (v.polling) { clearTimeout(v.polling); v.polling = null; }
  const title = h('h2', { id: 'replay-jobs-title' }, 'Replay jobs');
  let list;
  try {
    const { data } = await request('GET', paths.replays(v.project), { query: { limit: 20 }, signal: v.ctx.signal });
    list = data.data || [];
  } catch (err) {
    if (err && err.name === 'AbortError') return;
    fill(v.jobs, title, errorBox(plainWords(err)));
    return;
  }
  if (!list.length) {
    fill(v.jobs, title, h('p', { class: 'empty' }, 'No replays yet.'));
    return;
  }
  const rows = list.map((j) => {
    const p = j.progress || {};
    const total = p.total || (j.size && j.size.events) || 0;
    const btn = v.ctx.canWrite && !FINAL.has(j.state) && !j.cancel_requested
      ? h('button', { type: 'button', class: 'btn btn-small', 'data-test': 'replay-cancel', 'data-job-id': j.id }, 'Cancel')
      : null;
    if (btn) btn.addEventListener('click', () => cancel(v, j, btn));
    return h('tr', { 'data-test': 'replay-job', 'data-job-id': j.id, 'data-state': j.state },
      h('th', { scope: 'row' }, h('span', { class: 'mono small' }, j.id), h('div', { class: 'muted small' }, j.origin === 'start_from' ? 'backfill' : 'replay')),
      h('td', {}, h('a', { href: href('p', v.project, 's', j.stream_id) }, v.names.get(j.stream_id) || j.stream_id)),
      h('td', { class: 'small' }, utc(j.since), h('br'), j.until ? utc(j.until) : 'not known yet'),
      h('td', {}, stateBadge(j.state)),
      h('td', {}, h('progress', { max: String(Math.max(total, 1)), value: String(j.state === 'succeeded' && !total ? 1 : Math.min(p.events || 0, Math.max(total, 1))), 'aria-label': `Replay ${j.id} progress` }),
        h('div', { class: 'small' }, progress(j))),
      h('td', {}, time(j.created_at)),
      v.ctx.canWrite ? h('td', {}, btn) : null);
  });
  fill(v.jobs, title, tableWrap(h('table', { class: 'table' },
    h('caption', { class: 'visually-hidden' }, 'Replay jobs, newest first'),
    h('thead', {}, h('tr', {}, ['Job', 'Stream', 'Window (UTC)', 'State', 'Progress', 'Created'].concat(v.ctx.canWrite ? ['Actions'] : []).map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows)), 'Replay jobs'));
  if (list.some((j) => !FINAL.has(j.state))) {
    v.polling = setTimeout(() => { if (!v.ctx.signal.aborted) loadJobs(v); }, POLL_MS);
  }
}
