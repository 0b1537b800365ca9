// The header of every project page: breadcrumb, title and the project's
// own navigation (streams, dead letters, replays).

import { h } from '../dom.js';
import { href } from '../app.js';

export function projectHeader(project, current, title, ...extra) {
  const link = (key, to, text, test) => h('a', {
    href: to, 'data-test': test, 'aria-current': current === key ? 'page' : null,
  }, text);
  return h('div', { class: 'page-head' },
    h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/projects' }, 'Projects'), h('span', { 'aria-hidden': 'true' }, ' / '),
      h('a', { href: href('p', project) }, project)),
    h('div', { class: 'page-title' }, h('h1', {}, title), extra.length ? h('div', { class: 'page-actions' }, extra) : null),
    h('nav', { class: 'tabs', 'aria-label': 'Project' },
      link('streams', href('p', project), 'Streams', 'nav-streams'),
      link('dead-letters', href('p', project, 'dead-letters'), 'Dead letters', 'nav-dead-letters'),
      link('replays', href('p', project, 'replays'), 'Replays', 'nav-replays')));
}
