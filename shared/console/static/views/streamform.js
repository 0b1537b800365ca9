// Create and edit a stream. Every input's name is its JSON path in the
// request, so the API's error `field` lands beside the input it names. The
// API validates everything (the form has novalidate): one set of rules.

import { h, errorBox, fill } from '../dom.js';
import { request, paths, ApiError, plainWords } from '../api.js';
import { navigate, href, setFlash } from '../app.js';
import { TYPES, FIELDS, lastFour, typeLabel } from '../destinations.js';
import { projectHeader } from './projectnav.js';

const idOf = (name) => 'f-' + name.replace(/[^A-Za-z0-9_-]/g, '-');

export async function render(ctx) {
  const { project, stream: streamId } = ctx.params;
  if (!ctx.canWrite) {
    fill(ctx.main, projectHeader(project, 'streams', streamId ? 'Edit stream' : 'New stream'),
      errorBox('This key may read but not change streams.'));
    return;
  }
  let current = null;
  let etag = null;
  if (streamId) {
    const r = await request('GET', paths.stream(project, streamId), { signal: ctx.signal });
    current = r.data;
    etag = r.etag;
  }
  draw(ctx, project, current, etag, null);
}

function draw(ctx, project, current, etag, notice) {
  const editing = !!current;
  const alert = h('div', { class: 'alert-slot', tabindex: '-1' });
  if (notice) alert.append(errorBox(notice));
  const form = h('form', { id: 'stream-form', class: 'form card', novalidate: true });
  const destination = h('fieldset', { class: 'fieldset' });

  const typeSelect = h('select', { id: 'destination_type', name: 'destination_type', disabled: editing, 'aria-describedby': 'destination_type-help' },
    TYPES.map((t) => h('option', { value: t.value, selected: current ? current.destination_type === t.value : t.value === 'http' }, t.label)));
  const drawDestination = () => {
    const type = typeSelect.value;
    const config = current && current.destination_type === type ? current.destination_config : null;
    fill(destination, h('legend', {}, typeLabel(type) + ' destination'),
      ...FIELDS[type].map((f) => field(f, config, editing)));
  };
  typeSelect.addEventListener('change', drawDestination);
  drawDestination();

  const general = h('fieldset', { class: 'fieldset' },
    h('legend', {}, 'Stream'),
    textField('name', 'Name', current ? current.name : '', { required: true, help: 'For people: up to 128 characters.' }),
    h('div', { class: 'field' },
      h('label', { for: 'destination_type' }, 'Destination type'),
      typeSelect,
      h('p', { id: 'destination_type-help', class: 'help' }, editing
        ? 'A stream keeps its destination type; to send elsewhere, create another stream.'
        : 'Where this stream sends the project’s events.')),
    editing ? null : h('div', { class: 'field' },
      h('label', { for: idOf('status') }, 'Status after saving'),
      h('select', { id: idOf('status'), name: 'status', 'aria-describedby': idOf('status') + '-help' },
        h('option', { value: 'active', selected: true }, 'active — start delivering now'),
        h('option', { value: 'paused' }, 'paused — deliver nothing until enabled')),
      h('p', { id: idOf('status') + '-help', class: 'help' }, 'Events accepted while a stream is paused are never delivered to it.')));

  const advanced = h('details', { class: 'fieldset advanced', open: !!(current && (current.filters || current.pii || current.suspension)) },
    h('summary', {}, 'Filters, masking and suspension (optional)'),
    jsonField('filters', 'Filters (JSON)', current && current.filters,
      'Which events the stream receives, such as {"exclude":[{"field":"type","match":"user.session.*"}]}. Empty: every event.'),
    jsonField('pii', 'PII masking (JSON)', current && current.pii,
      'Fields to mask, such as {"fields":[{"field":"actor.ip","action":"truncate_ip"}]}. Actions: redact, hash, truncate_ip, xxhash.'),
    textField('suspension.after', 'Suspend after failing for', current && current.suspension ? current.suspension.after : '',
      { help: 'A duration such as 24h or 90m; 0s never suspends. Empty: the deployment’s rule (72h by default).' }),
    textField('suspension.after_permanent_failures', 'Suspend after refusals in a row', current && current.suspension && current.suspension.after_permanent_failures !== undefined ? String(current.suspension.after_permanent_failures) : '',
      { type: 'number', kind: 'number', min: 0, max: 10000, help: 'Empty: the deployment’s rule (50 by default); 0 never suspends.' }),
    editing ? null : textField('start_from', 'Backfill from (UTC)', '', {
      type: 'datetime-local', kind: 'datetime',
      help: 'Optional: also send this project’s archived events from this time on (within the archive’s 7 days). Times are UTC.',
    }));

  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-test': 'save' }, editing ? 'Save changes' : 'Create stream');
  const cancelHref = editing ? href('p', project, 's', current.id) : href('p', project);
  form.append(alert, general, destination, advanced,
    h('div', { class: 'actions' }, save, h('a', { class: 'btn btn-quiet', href: cancelHref }, 'Cancel')));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearErrors(form, alert);
    let body;
    try {
      body = collect(form, typeSelect.value);
    } catch (err) {
      if (err instanceof FieldError) {
        showErrors(form, alert, err.field, err.message, 'Check the form: ' + err.message);
        return;
      }
      throw err;
    }
    save.disabled = true;
    save.setAttribute('aria-busy', 'true');
    try {
      if (editing) {
        const r = await request('PUT', paths.stream(project, current.id), { body, etag });
        setFlash({ kind: 'ok', text: `Saved “${r.data.name}”.`, secret: r.data.destination_config && r.data.destination_config.signing_secret });
        navigate(href('p', project, 's', current.id));
      } else {
        const r = await request('POST', paths.streams(project), { body });
        setFlash({
          kind: 'ok', text: `Created “${r.data.name}”.`,
          secret: r.data.destination_config && r.data.destination_config.signing_secret,
          backfill: r.data.backfill,
        });
        navigate(href('p', project, 's', r.data.id));
      }
    } catch (err) {
      if (err instanceof ApiError && err.code === 'precondition_failed' && editing) {
        // Someone else saved first: show their version, never overwrite it.
        const r = await request('GET', paths.stream(project, current.id));
        draw(ctx, project, r.data, r.etag, plainWords(err));
        return;
      }
      if (err instanceof ApiError && err.field) {
        showErrors(form, alert, err.field, err.message, plainWords(err));
      } else {
        fill(alert, errorBox(plainWords(err)));
        alert.focus();
      }
    } finally {
      save.disabled = false;
      save.removeAttribute('aria-busy');
    }
  });

  const title = editing ? `Edit “${current.name}”` : 'New stream';
  fill(ctx.main, projectHeader(project, 'streams', title), form);
  if (notice) alert.scrollIntoView({ block: 'nearest' });
}

function textField(name, label, value, opts = {}) {
  const id = idOf(name);
  const attrs = {
    id, name, type: opts.type || 'text', value: value === undefined || value === null ? '' : value,
    'data-kind': opts.kind || 'text', autocomplete: 'off', spellcheck: 'false',
    'aria-describedby': opts.help ? id + '-help' : null, 'aria-required': opts.required ? 'true' : null,
    min: opts.min, max: opts.max, placeholder: opts.placeholder,
  };
  if (opts.inputmode) attrs.inputmode = opts.inputmode;
  return h('div', { class: 'field', 'data-field-wrap': name },
    h('label', { for: id }, label, opts.required ? h('span', { class: 'req' }, ' (required)') : null),
    h('input', attrs),
    opts.help ? h('p', { id: id + '-help', class: 'help' }, opts.help) : null);
}

function jsonField(name, label, value, help) {
  const id = idOf(name);
  return h('div', { class: 'field', 'data-field-wrap': name },
    h('label', { for: id }, label),
    h('textarea', { id, name, rows: 4, 'data-kind': 'json', spellcheck: 'false', class: 'mono', 'aria-describedby': id + '-help' },
      value ? JSON.stringify(value, null, 2) : ''),
    h('p', { id: id + '-help', class: 'help' }, help));
}

// field renders one destination_config member for its kind.
function field(f, config, editing) {
  const name = 'destination_config.' + f.key;
  const id = idOf(name);
  const value = config ? config[f.key] : undefined;
  const helpId = id + '-help';
  const required = f.required && !(editing && f.kind === 'secret');
  const label = h('label', { for: id }, f.label, required ? h('span', { class: 'req' }, ' (required)') : null);
  let control;
  let help = f.help || '';
  switch (f.kind) {
    case 'secret': {
      const lf = lastFour(config, f.key);
      let placeholder = null;
      if (lf !== undefined) {
        placeholder = lf ? `…last four ${lf}` : '…stored (too short to show its last four)';
        help = (lf ? `A secret ending in …${lf} is stored. ` : 'A secret is stored. ') + 'Leave empty to keep it. ' + help;
      }
      control = h('input', { id, name, type: 'password', autocomplete: 'new-password', spellcheck: 'false', 'data-kind': 'secret', placeholder, 'data-last-four': lf === undefined ? null : lf });
      break;
    }
    case 'select': {
      const cur = value !== undefined && value !== null ? value : f.def;
      const opts = f.options.slice();
      if (cur && !opts.some(([v]) => v === cur)) opts.unshift([cur, cur]);
      control = h('select', { id, name, 'data-kind': 'select' }, opts.map(([v, t]) => h('option', { value: v, selected: v === cur }, t)));
      break;
    }
    case 'bool': {
      const checked = value !== undefined && value !== null ? !!value : !!f.def;
      return h('div', { class: 'field field-check', 'data-field-wrap': name },
        h('input', { id, name, type: 'checkbox', checked, 'data-kind': 'bool', 'data-only-if-set': f.onlyIfSet ? 'true' : null, 'aria-describedby': help ? helpId : null }),
        label,
        help ? h('p', { id: helpId, class: 'help' }, help) : null);
    }
    case 'number':
      control = h('input', { id, name, type: 'number', inputmode: 'numeric', min: f.min, max: f.max, value: value === undefined || value === null ? '' : String(value), 'data-kind': 'number' });
      break;
    case 'list':
      control = h('textarea', { id, name, rows: 3, spellcheck: 'false', 'data-kind': 'list' }, Array.isArray(value) ? value.join('\n') : '');
      break;
    case 'map':
      control = h('textarea', { id, name, rows: 3, spellcheck: 'false', 'data-kind': 'map', 'data-sep': f.sep, class: 'mono' },
        value ? Object.entries(value).map(([k, v]) => (f.sep === ':' ? `${k}: ${v}` : `${k}=${v}`)).join('\n') : '');
      break;
    default:
      control = h('input', { id, name, type: f.input || 'text', value: value === undefined || value === null ? '' : String(value), autocomplete: 'off', spellcheck: 'false', 'data-kind': 'text' });
  }
  if (help) control.setAttribute('aria-describedby', helpId);
  if (required) control.setAttribute('aria-required', 'true');
  return h('div', { class: 'field', 'data-field-wrap': name }, label, control, help ? h('p', { id: helpId, class: 'help' }, help) : null);
}

class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// collect builds the request body from the form: empty optional members are
// left out (PUT gives them their defaults; an empty secret keeps the stored
// one).
function collect(form, type) {
  // PUT must name the stream's current type too.
  const body = { destination_type: type, destination_config: {} };
  for (const el of form.querySelectorAll('[name]')) {
    const name = el.name;
    if (name === 'destination_type') continue;
    const kind = el.dataset.kind || 'text';
    let v;
    switch (kind) {
      case 'bool':
        if (el.dataset.onlyIfSet && !el.checked) continue;
        v = el.checked;
        break;
      case 'number': {
        const t = el.value.trim();
        if (!t) continue;
        v = Number(t);
        if (!Number.isInteger(v)) throw new FieldError(name, `${name}: must be a whole number`);
        break;
      }
      case 'list': {
        const items = el.value.split('\n').map((x) => x.trim()).filter(Boolean);
        if (!items.length) continue;
        v = items;
        break;
      }
      case 'map': {
        const sep = el.dataset.sep;
        const obj = {};
        for (const line of el.value.split('\n').map((x) => x.trim()).filter(Boolean)) {
          const at = line.indexOf(sep);
          if (at <= 0) throw new FieldError(name, `${name}: “${line}” is not “name${sep === ':' ? ': ' : '='}value”`);
          obj[line.slice(0, at).trim()] = line.slice(at + 1).trim();
        }
        if (!Object.keys(obj).length) continue;
        v = obj;
        break;
      }
      case 'json': {
        const t = el.value.trim();
        if (!t) continue;
        try { v = JSON.parse(t); } catch (e) { throw new FieldError(name, `${name}: not valid JSON (${e.message})`); }
        break;
      }
      case 'datetime': {
        const t = el.value.trim();
        if (!t) continue;
        // datetime-local has no zone: the form states UTC.
        v = (t.length === 16 ? t + ':00' : t) + 'Z';
        break;
      }
      case 'secret':
        v = el.value;
        if (!v.trim()) continue;
        break;
      default:
        v = el.value.trim();
        if (!v) continue;
    }
    setPath(body, name, v);
  }
  if (!Object.keys(body).includes('name')) body.name = '';
  return body;
}

function setPath(obj, path, v) {
  const parts = path.split('.');
  let o = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof o[p] !== 'object' || o[p] === null) o[p] = {};
    o = o[p];
  }
  o[parts[parts.length - 1]] = v;
}

function clearErrors(form, alert) {
  fill(alert);
  for (const el of form.querySelectorAll('[data-test=field-error]')) el.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    const ids = (el.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && !x.endsWith('-error'));
    if (ids.length) el.setAttribute('aria-describedby', ids.join(' '));
    else el.removeAttribute('aria-describedby');
  }
}

// showErrors puts the message beside the input the API's field names (or
// the nearest enclosing one: "filters.include[0].match" → filters) and a
// summary in the form's alert that links to it.
function showErrors(form, alert, apiField, message, summary) {
  const target = findInput(form, apiField);
  if (!target) {
    fill(alert, errorBox(summary));
    alert.focus();
    return;
  }
  const wrap = target.closest('.field') || target.parentElement;
  const details = target.closest('details');
  if (details) details.open = true;
  const errId = target.id + '-error';
  const fieldError = h('p', { id: errId, class: 'field-error', 'data-test': 'field-error', 'data-field': target.name, 'data-api-field': apiField }, message);
  const help = wrap.querySelector('.help');
  if (help) wrap.insertBefore(fieldError, help);
  else wrap.append(fieldError);
  target.setAttribute('aria-invalid', 'true');
  const ids = (target.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  target.setAttribute('aria-describedby', [errId, ...ids].join(' '));
  const link = h('a', { href: '#' + target.id, on: { click: (e) => { e.preventDefault(); target.focus(); } } }, 'Go to the field');
  fill(alert, errorBox([summary, ' ', link]));
  target.focus();
}

function findInput(form, apiField) {
  const inputs = Array.from(form.querySelectorAll('[name]'));
  let best = null;
  for (const el of inputs) {
    const n = el.name;
    if (apiField === n || apiField.startsWith(n + '.') || apiField.startsWith(n + '[')) {
      if (!best || n.length > best.name.length) best = el;
    }
  }
  return best;
}
