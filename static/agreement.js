// agreement.js — the group agreement a member accepts before joining.
//
// A join by a member who has not accepted the room's current agreement is
// refused with `agreement_required`, carrying `guidelines: {text, version}`
// (docs/protocol.md, "The group agreement"). The page shows the text in the
// dialog (dialog.js) with "I agree and join" and "Not now"; agreeing joins
// again with `agree` set to the version. The server remembers the
// acceptance; the page remembers nothing (no storage of any kind).
//
// The text is the facilitators' own plain text: paragraphs separated by
// blank lines, lines starting with "- " as bullets. It is put on the page as
// text only — paragraphs, list items and a heading built with dom.js —
// never as markup.

import { h } from './dom.js';
import { openDialog } from './dialog.js';

/** The dialog's key (see closeDialogFor). */
export const AGREEMENT_DIALOG_KEY = 'agreement';

const BULLET_RE = /^\s*[-•*]\s+/;

/**
 * agreementBlocks splits an agreement's plain text into blocks to show, in
 * order: {kind: 'heading', text} (a first paragraph of one short line
 * without a full stop, such as "Our group agreement"), {kind: 'paragraph',
 * text} (its lines kept, joined by "\n") or {kind: 'list', items: [text]}.
 * Pure: no DOM.
 * @param {string} text
 * @returns {{kind: 'heading'|'paragraph'|'list', text?: string, items?: string[]}[]}
 */
export function agreementBlocks(text) {
  const blocks = [];
  const paragraphs = String(text ?? '').replace(/\r\n?/g, '\n').trim().split(/\n[ \t]*\n/);
  for (const para of paragraphs) {
    let lines = [];
    let items = null;
    const endLines = () => {
      if (lines.length) blocks.push({ kind: 'paragraph', text: lines.join('\n') });
      lines = [];
    };
    const endItems = () => {
      if (items) blocks.push({ kind: 'list', items });
      items = null;
    };
    for (const raw of para.split('\n')) {
      const line = raw.trimEnd();
      if (line.trim() === '') continue;
      if (BULLET_RE.test(line)) {
        endLines();
        items ??= [];
        items.push(line.replace(BULLET_RE, ''));
      } else if (items && /^\s/.test(line)) {
        items[items.length - 1] += `\n${line.trim()}`; // an indented line goes on with the bullet
      } else {
        endItems();
        lines.push(line.trim());
      }
    }
    endLines();
    endItems();
  }
  const first = blocks[0];
  if (first?.kind === 'paragraph' && !first.text.includes('\n') && [...first.text].length <= 60 && !/[.!?:;,…]$/.test(first.text)) {
    first.kind = 'heading';
  }
  return blocks;
}

/** agreementNodes builds the elements showing an agreement's text (text only). */
export function agreementNodes(text) {
  const blocks = agreementBlocks(text);
  if (blocks.length === 0) return [h('p', { text: '(The agreement is empty.)' })];
  return [h('div', { className: 'agreement', attrs: { dir: 'auto' } },
    ...blocks.map((b) => {
      if (b.kind === 'heading') return h('h3', { className: 'agreement-heading', text: b.text });
      if (b.kind === 'list') return h('ul', {}, ...b.items.map((item) => h('li', { text: item })));
      return h('p', { text: b.text });
    }))];
}

/**
 * showAgreement shows the room's group agreement in the dialog.
 * @param {{text: string, version: string}} guidelines from the `agreement_required` error
 * @param {object} o
 * @param {boolean} [o.changed] the person accepted an earlier version (a re-join after a reconnect)
 * @param {(version: string) => Promise<unknown>} o.onAgree joins again with `agree`; while
 *   it runs the dialog's buttons say so; when it settles the dialog closes (unless it
 *   opened the dialog again), so it handles its own errors
 * @param {() => void} o.onNotNow "Not now" (or Escape)
 * @param {() => HTMLElement|null} [o.focusAfter] where the focus goes when the dialog closes
 */
export function showAgreement(guidelines, { changed = false, onAgree, onNotNow, focusAfter }) {
  openDialog({
    key: AGREEMENT_DIALOG_KEY,
    long: true,
    title: changed ? 'The group agreement has changed' : 'Before you join',
    text: changed
      ? 'The facilitators have changed the group agreement since you accepted it. Please read it again before you go back in.'
      : 'Please read the group agreement. You join the group by agreeing to it.',
    body: agreementNodes(guidelines.text),
    bodyLabel: 'The group agreement',
    confirmLabel: 'I agree and join',
    cancelLabel: 'Not now',
    onConfirm: () => onAgree(guidelines.version),
    onCancel: onNotNow,
    focusAfter,
  });
}
