// crisis.js — crisis resources for the person, and crisis alerts for
// facilitators (docs/protocol.md, "Crisis resources and alerts").
//
//   * "Get help now", in the page header on every screen, opens the
//     resources panel (#help, between the header and the page). Until the
//     server has sent resources it shows the built-in U.S. copy written in
//     index.html (so it works even if the rest of the app does not: without
//     script the link opens the panel through CSS :target). Once a
//     `crisis_resources` event arrives, the panel shows that event's
//     resources, in the order given.
//   * `crisis_resources` (to this member alone) opens the panel: a calm
//     region above the page, not a modal — the conversation stays usable.
//     The focus moves to its heading and its first sentence is announced
//     politely. It can be closed and opened again from "Get help now".
//   * "I need support" (under the message box, members only) sends
//     `request_support`; on `ok` the panel opens with its own sentence.
//   * The check-in page (checkins.js) shows the same resources beside its
//     form (renderHelpInto), and a check-in whose note tripped the crisis
//     detector opens the panel like a `crisis_resources` event
//     (showCheckinResources); the event that comes over the socket too
//     does not open it a second time.
//   * Facilitators see the open `crisis_alert`s in the Alerts section at the
//     top of the side column, newest first, each with Acknowledge
//     (`ack_alert`); `alert_acked` removes it on every facilitator's page.
//     A new alert is announced assertively and highlighted until looked at.
//
// Nothing here is ever stored (no localStorage, sessionStorage, IndexedDB,
// cookies): resources and alerts live in memory and go with the tab. Other
// members are never shown anything about a crisis: the panel opens only for
// this person's own `crisis_resources` or their own request, and alerts only
// come to facilitators. Text from the server goes in as text only.

import { h, $, setText, button, formatFullTime, formatWhen, plural } from './dom.js';
import { facilitates } from './room.js';
import { announce } from './notices.js';

// ---------------------------------------------------------------------------
// Wording

/** The panel's first sentence, by what opened it. */
const INTRO = {
  // "Get help now", before any crisis event.
  browse: 'These services are free and confidential, and there for you any time, day or night:',
  // crisis_resources with gentle: false.
  crisis: 'It sounds like things are really hard right now. You don’t have to go through this alone — these people are there for you, any time, free and confidential:',
  // crisis_resources with gentle: true.
  gentle: 'If this ever changes, or things feel heavy, these are always there:',
  // request_support answered ok.
  requested: 'Your facilitators have been told privately. Here is support you can reach right now:',
  // request_support could not be sent or was refused.
  unsent: 'We could not reach your facilitators just now. You can still reach these people right now, free and confidential:',
};

/** Said once, under the first sentence, when gentle is false (never in alarming terms). */
const TOLD = 'Your facilitators have been told privately, so they can check in with you.';

/** Alert categories in plain words (internal/crisis). */
const CATEGORY_TEXT = {
  ideation: 'thoughts of suicide',
  passive_wish: 'wishing not to be alive',
  self_harm: 'self-harm',
  method_plan: 'a plan or means',
  imminent_danger: 'immediate danger',
  goodbye: 'saying goodbye',
  overdose: 'overdose',
  hopelessness_burden: 'hopelessness / feeling a burden',
  member_request: 'asked for support',
};

/** Severities in words. */
const SEVERITY_TEXT = {
  gentle: 'low',
  elevated: 'raised',
  high: 'high',
  imminent: 'imminent',
};

const SEVERITY_RANK = { gentle: 1, elevated: 2, high: 3, imminent: 4 };

/** categoryText names a category in plain words. */
export function categoryText(category) {
  return CATEGORY_TEXT[category] ?? String(category || 'a concern').replace(/_/g, ' ');
}

/** severityText names a severity in words. */
export function severityText(severity) {
  return SEVERITY_TEXT[severity] ?? String(severity || 'unknown').replace(/_/g, ' ');
}

/** Only links a phone can follow safely: a call, a text, a web page over https. */
const SAFE_HREF = /^(tel:|sms:|https:\/\/)/i;

// ---------------------------------------------------------------------------
// State (memory only)

/**
 * @type {{
 *   send: (frame: object) => Promise<any>,
 *   request: (frame: object) => Promise<any>,
 *   getRoom: () => any,
 *   openDm: (memberId: string) => void,
 *   showMessage: (messageId: string) => boolean,
 *   hasMessage: (messageId: string) => boolean,
 * }}
 */
let ctx = null;

const panel = {
  open: false,
  /** What the first sentence says: a key of INTRO. */
  mode: 'browse',
  /** Where the focus was when the panel took it, to give it back on Close. */
  returnFocus: null,
};

/** The "I need support" request in flight, and a card that came meanwhile. */
const support = { busy: false, heldCard: null, okAt: 0 };

/**
 * A check-in posted from this page: when it was sent (posting, set by
 * noteCheckinPosting) and when its card opened the panel (shownAt). Its
 * note may bring the resources twice — in the POST response and as a
 * crisis_resources event — and the second only brings the panel up to date.
 */
const checkinCard = { posting: 0, shownAt: 0 };

/** How long after one the other counts as the same card. */
const SAME_CARD_MS = 15_000;

/**
 * The resources "Get help now" offers at any time, for the check-in page:
 * this deployment's (from `welcome`), or null while only the built-in copy
 * of index.html is known (kept in builtInHelp, copied at start-up).
 */
let generalResources = null;
let builtInHelp = [];

/** Called when generalResources change (the check-in page redraws its copy). */
const helpListeners = new Set();

/** alert_id → alert (as last sent by the server, plus `fresh`: not looked at yet). */
const alerts = new Map();

/** Alerts that arrived in one burst (say, every open alert after connecting), announced together. */
let pendingAnnounce = [];
let announceTimer = 0;

// ---------------------------------------------------------------------------
// Start-up

/** initCrisis wires the link, the panel, the support button and the alerts (once, at start-up). */
export function initCrisis(context) {
  ctx = context;
  builtInHelp = [...$('help-list').children].map((li) => li.cloneNode(true));
  $('help-link').addEventListener('click', (event) => {
    event.preventDefault();
    openPanel({ focus: true });
  });
  $('help-close').addEventListener('click', () => closePanel());
  $('help').addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !event.defaultPrevented) {
      event.preventDefault();
      closePanel();
    }
  });
  $('support-request').addEventListener('click', onSupportClick);

  $('alerts-toggle').addEventListener('click', () => {
    setAlertsExpanded($('alerts-toggle').getAttribute('aria-expanded') !== 'true');
  });
  // Looking at the alerts (pointer or keyboard) ends the highlight of new ones.
  const seen = () => markAlertsSeen();
  $('alerts-body').addEventListener('focusin', seen);
  $('alerts-body').addEventListener('pointerdown', seen);
  $('alerts-list').addEventListener('click', onAlertClick);
}

// ---------------------------------------------------------------------------
// Events

/**
 * onCrisisEvent handles crisis_resources, crisis_alert and alert_acked, and
 * reports whether the event was one of them. These are personal events: they
 * may concern a room this page is not in (alerts), or come before any join.
 */
export function onCrisisEvent(event) {
  switch (event?.type) {
    case 'crisis_resources':
      onResources(event);
      return true;
    case 'crisis_alert':
      onAlert(event);
      return true;
    case 'alert_acked':
      onAlertAcked(event);
      return true;
    default:
      return false;
  }
}

/**
 * setDeploymentResources shows this deployment's resources (sent in
 * `welcome`) in the panel, so "Get help now" lists the configured numbers
 * before any crisis; the built-in U.S. copy stays only until then.
 */
export function setDeploymentResources(resources) {
  if (!Array.isArray(resources)) return;
  const items = resources.map(resourceItem).filter(Boolean);
  if (items.length > 0) {
    $('help-list').replaceChildren(...items);
    generalResources = resources;
    for (const fn of helpListeners) fn();
  }
}

/**
 * renderHelpInto fills list with the resources "Get help now" offers at any
 * time (this deployment's, or the built-in U.S. copy), and shows danger —
 * the "call 911" line, as under the panel's list — unless the list itself
 * has a way to call 911. It returns a function that stops following later
 * changes.
 */
export function renderHelpInto(list, danger) {
  const draw = () => {
    const items = generalResources ? generalResources.map(resourceItem).filter(Boolean) : builtInHelp.map((li) => li.cloneNode(true));
    list.replaceChildren(...items);
    danger.hidden = list.querySelector('a[href="tel:911"]') !== null;
  };
  draw();
  helpListeners.add(draw);
  return () => helpListeners.delete(draw);
}

/**
 * noteCheckinPosting is called just before a check-in is sent: a
 * crisis_resources event that comes soon after is that check-in's card.
 */
export function noteCheckinPosting() {
  checkinCard.posting = Date.now();
}

/**
 * showCheckinResources opens the panel for a check-in whose note tripped
 * the crisis detector (the `resources` of the POST response), like the
 * live crisis card. If the check-in's crisis_resources event opened it just
 * before, it is only brought up to date.
 */
export function showCheckinResources(resources) {
  if (panel.open && Date.now() - checkinCard.shownAt < SAME_CARD_MS && (panel.mode === 'crisis' || panel.mode === 'gentle')) {
    showResources(resources);
    render();
    return;
  }
  onResources({ resources, gentle: false }, { checkinResponse: true });
}

/** showResources puts a crisis card's resources in the panel (when it has any). */
function showResources(resources) {
  if (!Array.isArray(resources)) return;
  const items = resources.map(resourceItem).filter(Boolean);
  if (items.length > 0) {
    $('help-list').replaceChildren(...items);
    $('help-danger').hidden = true; // the server's list says what to do in immediate danger
  }
}

function onResources(event, { checkinResponse = false } = {}) {
  showResources(event.resources);
  const mode = event.gentle === true ? 'gentle' : 'crisis';
  const now = Date.now();
  if (!checkinResponse && now - checkinCard.posting < SAME_CARD_MS) {
    // A check-in sent from this page a moment ago: its POST response opened
    // the panel already (or will, and then leaves it be). Say it in the
    // event's own words without moving the focus again.
    if (panel.open && now - checkinCard.shownAt < SAME_CARD_MS && (panel.mode === 'crisis' || panel.mode === 'gentle')) {
      panel.mode = mode;
      render();
      return;
    }
    checkinCard.shownAt = now;
  }
  if (checkinResponse) checkinCard.shownAt = now;
  if (support.busy) {
    // "I need support" is on its way: its `ok` opens the panel with its own words.
    support.heldCard = mode;
    return;
  }
  // The card that follows "I need support" (it may come after the `ok`): the
  // panel already says the facilitators were told; just show its resources.
  const justAsked = Date.now() - support.okAt < 15_000;
  if (panel.open && panel.mode === 'requested' && (justAsked || mode === 'gentle')) {
    render();
    return;
  }
  showPanelFor(mode);
}

/** showPanelFor opens the panel with the sentence for mode, takes the focus and says it politely. */
function showPanelFor(mode) {
  panel.mode = mode;
  openPanel({ focus: true });
  announce(INTRO[mode]);
}

// ---------------------------------------------------------------------------
// The resources panel

function openPanel({ focus }) {
  const active = document.activeElement;
  if (!panel.open && active instanceof HTMLElement && !$('help').contains(active)) panel.returnFocus = active;
  const wasOpen = panel.open;
  panel.open = true;
  render();
  // Opened afresh: from the top, where it says what happened and who was told.
  if (!wasOpen) $('help').scrollTop = 0;
  if (focus) {
    $('help-title').focus();
    $('help').scrollIntoView?.({ block: 'nearest' });
  }
}

function closePanel() {
  const hadFocus = $('help').contains(document.activeElement);
  panel.open = false;
  // Opened without script through the #help fragment: drop it, or CSS keeps it open.
  if (location.hash === '#help') history.replaceState(null, '', location.pathname + location.search);
  render();
  if (hadFocus) {
    const back = panel.returnFocus;
    const usable = back && back.isConnected && !back.closest('[hidden]') && !back.disabled;
    (usable ? back : $('help-link')).focus();
  }
  panel.returnFocus = null;
}

function render() {
  $('help').classList.toggle('help--open', panel.open);
  $('help-link').setAttribute('aria-expanded', String(panel.open));
  setText($('help-intro'), INTRO[panel.mode] ?? INTRO.browse);
  $('help-told').hidden = panel.mode !== 'crisis';
}

/**
 * resourceItem draws one resource of a crisis_resources event: its name,
 * summary and each action as a big link with the href exactly as given
 * (tel:, sms: or https: only; anything else is left out).
 */
function resourceItem(r) {
  if (!r || typeof r !== 'object' || typeof r.name !== 'string' || r.name.trim() === '') return null;
  const actions = (Array.isArray(r.actions) ? r.actions : [])
    .filter((a) => a && typeof a.href === 'string' && SAFE_HREF.test(a.href) && typeof a.label === 'string' && a.label.trim() !== '')
    .map((a) => h('li', {}, actionLink(a)));
  // The ways to reach it come right under the name, so that on a phone the
  // first button is in view without scrolling past a long summary.
  return h('li', { className: 'help-item' },
    h('h3', { className: 'help-name', text: r.name, attrs: { dir: 'auto' } }),
    actions.length ? h('ul', { className: 'help-actions', attrs: { 'aria-label': `Ways to reach ${r.name}` } }, ...actions) : null,
    typeof r.summary === 'string' && r.summary !== '' ? h('p', { className: 'help-summary', text: r.summary, attrs: { dir: 'auto' } }) : null);
}

function actionLink(a) {
  const web = /^https:\/\//i.test(a.href);
  const link = h('a', {
    className: 'help-action',
    attrs: web ? { href: a.href, target: '_blank', rel: 'noopener noreferrer' } : { href: a.href },
  }, h('span', { text: a.label, attrs: { dir: 'auto' } }));
  if (web) link.append(h('span', { className: 'visually-hidden', text: ' (opens in a new tab)' }));
  return link;
}

// ---------------------------------------------------------------------------
// "I need support"

async function onSupportClick() {
  const b = $('support-request');
  if (support.busy) return;
  support.busy = true;
  support.heldCard = null;
  b.setAttribute('aria-disabled', 'true');
  setText($('support-error'), '');
  try {
    await ctx.send({ type: 'request_support' });
    support.okAt = Date.now();
    showPanelFor('requested');
  } catch (err) {
    // The person asked for help: show what they can reach whatever happened.
    setText($('support-error'), `Your facilitators were not told: ${err?.message || 'something went wrong.'}`);
    showPanelFor(support.heldCard ?? 'unsent');
  } finally {
    support.busy = false;
    support.heldCard = null;
    b.removeAttribute('aria-disabled');
  }
}

// ---------------------------------------------------------------------------
// Facilitators' alerts

function onAlert(event) {
  if (typeof event.alert_id !== 'string' || event.alert_id === '' || typeof event.room !== 'string') return;
  const prev = alerts.get(event.alert_id) ?? null;
  const alert = {
    alert_id: event.alert_id,
    room: event.room,
    member_id: typeof event.member_id === 'string' ? event.member_id : '',
    display_name: typeof event.display_name === 'string' ? event.display_name : '',
    category: typeof event.category === 'string' ? event.category : '',
    severity: typeof event.severity === 'string' ? event.severity : '',
    priority: event.priority === 'note' ? 'note' : 'alert',
    message_id: typeof event.message_id === 'string' ? event.message_id : '',
    count: Number.isSafeInteger(event.count) && event.count > 0 ? event.count : 1,
    escalated: event.escalated === true,
    ts: typeof event.ts === 'string' ? event.ts : '',
    fresh: prev?.fresh ?? false,
    error: prev?.error ?? '',
  };
  if (!alert.display_name && prev?.display_name) alert.display_name = prev.display_name;

  // What is news: a new alert, a rise in severity, an escalation, or a note becoming an alert.
  const news = prev === null
    || (SEVERITY_RANK[alert.severity] ?? 0) > (SEVERITY_RANK[prev.severity] ?? 0)
    || (alert.escalated && !prev.escalated)
    || (alert.priority === 'alert' && prev.priority === 'note');
  if (news && alert.priority === 'alert') alert.fresh = true;
  alerts.set(alert.alert_id, alert);

  if (news) {
    if (alert.priority === 'alert') setAlertsExpanded(true);
    queueAnnouncement(alert, prev);
  }
  renderAlerts();
}

function onAlertAcked(event) {
  const alert = alerts.get(event?.alert_id);
  if (!alert) return;
  removeAlert(alert.alert_id);
  announce(`The alert about ${alertName(alert)} was acknowledged.`);
}

/** removeAlert takes an alert off the list, keeping the keyboard focus in a sensible place. */
function removeAlert(alertId) {
  const list = $('alerts-list');
  const items = [...list.children];
  const index = items.findIndex((li) => li.dataset.alertId === alertId);
  const hadFocus = index >= 0 && items[index].contains(document.activeElement);
  alerts.delete(alertId);
  renderAlerts();
  if (hadFocus) {
    const rest = [...list.children];
    // The next alert itself, not its Acknowledge button: a second Enter
    // must not acknowledge an alert nobody has read yet.
    const next = rest[Math.min(index, rest.length - 1)];
    if (next) {
      next.tabIndex = -1;
      next.focus();
    } else {
      $('alerts-toggle').focus();
    }
  }
}

/** queueAnnouncement gathers alerts that arrive together into one sentence. */
function queueAnnouncement(alert, prev) {
  pendingAnnounce.push({ alert, prev });
  clearTimeout(announceTimer);
  announceTimer = setTimeout(flushAnnouncements, 300);
}

function flushAnnouncements() {
  const batch = pendingAnnounce;
  pendingAnnounce = [];
  if (batch.length === 0) return;
  const urgent = batch.some(({ alert }) => alert.priority === 'alert');
  let text;
  if (batch.length === 1) {
    const { alert, prev } = batch[0];
    const where = isOtherRoom(alert) ? ` in group ${alert.room}` : '';
    const what = `${alertName(alert)}${where}: ${categoryText(alert.category)}`;
    if (alert.priority === 'note') text = `A note for facilitators about ${what}.`;
    else if (alert.escalated && !prev?.escalated) text = `Still not acknowledged: crisis alert about ${what}.`;
    else if (prev) text = `Crisis alert, concern now ${severityText(alert.severity)}, about ${what}.`;
    else text = `New crisis alert about ${what}. See Alerts at the top of the side panel.`;
  } else {
    text = `${plural(alerts.size, 'open crisis alert')}${urgent ? '' : ' (notes)'}. See Alerts at the top of the side panel.`;
  }
  announce(text, { assertive: urgent });
}

function markAlertsSeen() {
  let changed = false;
  for (const a of alerts.values()) {
    if (a.fresh) {
      a.fresh = false;
      changed = true;
    }
  }
  if (changed) {
    for (const li of $('alerts-list').children) li.classList.remove('alert-item--new');
    for (const tag of $('alerts-list').querySelectorAll('.alert-new')) tag.remove();
  }
}

function isOtherRoom(alert) {
  const room = ctx?.getRoom();
  return !room || alert.room !== room.id;
}

/** alertName is the member's display name, or "a member". */
function alertName(alert) {
  if (alert.display_name) return alert.display_name;
  const room = ctx?.getRoom();
  if (room && room.id === alert.room) {
    const known = room.nameOf(alert.member_id);
    if (known) return known;
  }
  return 'a member';
}

/** setAlertsExpanded opens or closes the Alerts section. */
export function setAlertsExpanded(open) {
  $('alerts-toggle').setAttribute('aria-expanded', String(open));
  $('alerts-body').hidden = !open;
}

/** hasOpenAlerts reports whether any alert (not a note) is open, in any room. */
export function hasOpenAlerts() {
  for (const a of alerts.values()) if (a.priority === 'alert') return true;
  return false;
}

/** openAlertsIn lists the open alerts and notes of one room, newest first. */
export function openAlertsIn(roomId) {
  return sortedAlerts().filter((a) => a.room === roomId);
}

/** alertSummary says one alert in a short line: "Robin — thoughts of suicide". */
export function alertSummary(alert) {
  return `${alertName(alert)} — ${categoryText(alert.category)}`;
}

function sortedAlerts() {
  const time = (a) => {
    const t = new Date(a.ts).getTime();
    return Number.isNaN(t) ? 0 : t;
  };
  return [...alerts.values()].sort((a, b) => time(b) - time(a));
}

/**
 * renderCrisis brings the parts that depend on the room up to date: the
 * "I need support" button (members in a room) and the Alerts section
 * (facilitators, or anyone who has open alerts of another room).
 */
export function renderCrisis(room) {
  const member = room?.you ? !facilitates(room.you.role) : false;
  $('support').hidden = !member;
  if (!member) setText($('support-error'), '');
  renderAlerts();
}

function renderAlerts() {
  const room = ctx?.getRoom() ?? null;
  const section = $('alerts-section');
  section.hidden = !room || (!room.facilitating && alerts.size === 0);
  const list = $('alerts-list');
  const shown = sortedAlerts();
  const urgent = shown.filter((a) => a.priority === 'alert').length;
  setText($('alerts-count'), shown.length ? `(${shown.length})` : '');
  $('alerts-toggle').classList.toggle('disclosure--attention', urgent > 0);
  $('alerts-empty').hidden = shown.length > 0;

  // Keep the keyboard focus across the redraw.
  const active = document.activeElement;
  const focusLi = active instanceof Element && list.contains(active) ? active.closest('li[data-alert-id]') : null;
  const focus = focusLi ? { id: focusLi.dataset.alertId, action: active.dataset.action } : null;

  const items = shown.map(alertItem);
  list.replaceChildren(...items);
  if (focus) {
    const li = items.find((el) => el.dataset.alertId === focus.id);
    (li?.querySelector(`button[data-action="${focus.action}"]`) ?? li?.querySelector('button') ?? $('alerts-toggle')).focus();
  }
}

function alertItem(alert) {
  const note = alert.priority === 'note';
  const name = alertName(alert);
  const room = ctx?.getRoom() ?? null;
  const here = room !== null && room.id === alert.room;
  const classes = ['alert-item', note ? 'alert-item--note' : 'alert-item--alert'];
  if (alert.escalated && !note) classes.push('alert-item--escalated');
  if (alert.fresh) classes.push('alert-item--new');

  const meta = [`Concern: ${severityText(alert.severity)}`];
  if (alert.count > 1) meta.push(plural(alert.count, 'time'));
  const metaLine = h('p', { className: 'alert-meta' }, meta.join(' · '));
  if (alert.ts) {
    metaLine.append(' · ', alert.count > 1 ? 'latest ' : '',
      h('time', { text: formatWhen(alert.ts), attrs: { datetime: alert.ts, title: formatFullTime(alert.ts) } }));
  }

  const actions = [
    button('Acknowledge', {
      className: note ? 'button button--small' : 'button button--small button--primary',
      attrs: { 'data-action': 'ack', 'aria-label': `Acknowledge the ${note ? 'note' : 'alert'} about ${name}` },
    }),
  ];
  if (here && alert.member_id && room.members.has(alert.member_id) && !room.isYou(alert.member_id)) {
    actions.push(button('Message privately', { attrs: { 'data-action': 'dm', 'aria-label': `Message privately to ${name}` } }));
  }
  if (here && alert.message_id && ctx.hasMessage(alert.message_id)) {
    actions.push(button('Show message', { attrs: { 'data-action': 'show', 'aria-label': `Show message from ${name}` } }));
  }

  return h('li', { className: classes.join(' '), attrs: { 'data-alert-id': alert.alert_id } },
    h('p', { className: 'alert-tags' },
      h('span', { className: note ? 'alert-kind alert-kind--note' : 'alert-kind', text: note ? 'Note' : 'Alert' }),
      alert.fresh ? h('span', { className: 'alert-new', text: 'New' }) : null,
      alert.escalated && !note ? h('span', { className: 'alert-escalated', text: 'Escalated' }) : null,
      here ? null : h('span', { className: 'alert-room' }, 'Group ', h('span', { text: alert.room, attrs: { dir: 'auto' } }))),
    h('p', { className: 'alert-what' },
      h('span', { className: 'alert-name', text: name, attrs: { dir: 'auto' } }),
      h('span', { text: `: ${categoryText(alert.category)}` })),
    metaLine,
    h('div', { className: 'alert-actions' }, ...actions),
    h('p', { className: 'field-error alert-error', text: alert.error, attrs: { 'aria-live': 'polite' } }));
}

async function onAlertClick(event) {
  const b = event.target instanceof Element ? event.target.closest('button[data-action]') : null;
  const li = b?.closest('li[data-alert-id]');
  const alert = li ? alerts.get(li.dataset.alertId) : null;
  if (!b || !alert) return;
  if (b.dataset.action === 'dm') {
    ctx.openDm(alert.member_id);
  } else if (b.dataset.action === 'show') {
    if (!ctx.showMessage(alert.message_id)) setAlertError(alert, 'That message is no longer on this page.');
  } else if (b.dataset.action === 'ack') {
    if (b.getAttribute('aria-disabled') === 'true') return;
    b.setAttribute('aria-disabled', 'true');
    setAlertError(alert, '');
    try {
      await ctx.request({ type: 'ack_alert', room: alert.room, alert_id: alert.alert_id });
      if (alerts.has(alert.alert_id)) {
        removeAlert(alert.alert_id); // alert_acked may come after the ok, or not at all across nodes
        announce(`Acknowledged the alert about ${alertName(alert)}.`);
      }
    } catch (err) {
      if (err?.code === 'not_found') {
        // Acknowledged meanwhile (perhaps while this page was reconnecting).
        removeAlert(alert.alert_id);
        announce(`The alert about ${alertName(alert)} had already been acknowledged.`);
        return;
      }
      let text = err?.message || 'That did not work. Please try again.';
      if (err?.code === 'not_joined') text = `To acknowledge this, open your link for group ${alert.room}.`;
      setAlertError(alert, text);
    } finally {
      b.removeAttribute('aria-disabled');
    }
  }
}

function setAlertError(alert, text) {
  alert.error = text;
  for (const li of $('alerts-list').children) {
    if (li.dataset.alertId === alert.alert_id) setText(li.querySelector('.alert-error'), text);
  }
}
