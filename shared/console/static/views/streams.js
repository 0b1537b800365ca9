// A project's streams: status, destination, last success and last error
// (the last two from each stream's health).

import { h, statusBadge, time, tableWrap, fill } from '../dom.js';
import { request, paths, listStreams, plainWords } from '../api.js';
import { href } from '../app.js';
import { typeLabel, target } from '../destinations.js';
import { projectHeader } from './projectnav.js';

export async function render(ctx) {
  const { project } = ctx.params;
  const list = await listStreams(project, ctx.signal);
  // Health per stream, in parallel; a stream whose health cannot be read
  // still shows, with the reason.
  const health = await Promise.all(list.map((st) =>
    request('GET', paths.health(project, st.id), { signal: ctx.signal }).then((r) => r.data, (err) => ({ error: err }))));

  const newLink = ctx.canWrite
    ? h('a', { class: 'btn btn-primary', href: href('p', project, 'new'), 'data-test': 'new-stream' }, 'New stream')
    : null;

  const flash = ctx.flash ? h('div', { class: 'alert alert-ok', role: 'status' }, ctx.flash.text) : null;

  let body;
  if (!list.length) {
    body = h('div', { class: 'card empty' },
      h('p', {}, 'No streams yet.'),
      ctx.canWrite ? h('p', {}, 'Create one to send this project’s events to Datadog, Grafana Loki, Splunk, a webhook, EventBridge or S3.') : null);
  } else {
    const rows = list.map((st, i) => {
      const hl = health[i] || {};
      const lastError = hl.error
        ? h('span', { class: 'muted' }, 'Health unavailable: ' + plainWords(hl.error))
        : hl.last_error
          ? h('div', { class: 'last-error' }, h('span', { class: 'error-text clamp', title: hl.last_error }, hl.last_error), time(hl.last_error_at))
          : h('span', { class: 'muted' }, 'none');
      return h('tr', { 'data-test': 'stream-row', 'data-stream-id': st.id },
        h('th', { scope: 'row' }, h('a', { href: href('p', project, 's', st.id) }, st.name), h('div', { class: 'muted mono small' }, st.id)),
        h('td', {}, typeLabel(st.destination_type), h('div', { class: 'muted small wrap' }, target(st.destination_type, st.destination_config))),
        h('td', {}, statusBadge(st.status, st.status_reason),
          hl.failing_since ? h('div', { class: 'small warn-text' }, 'failing since ', time(hl.failing_since)) : null),
        h('td', {}, hl.error ? '—' : time(hl.last_success_at)),
        h('td', {}, lastError));
    });
    body = tableWrap(h('table', { class: 'table' },
      h('caption', { class: 'visually-hidden' }, `Streams of ${project}`),
      h('thead', {}, h('tr', {},
        ['Name', 'Destination', 'Status', 'Last success', 'Last error'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)), `Streams of ${project}`);
  }

  fill(ctx.main, projectHeader(project, 'streams', 'Streams', newLink), flash, body);
}
