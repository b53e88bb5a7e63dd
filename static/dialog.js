// dialog.js — one modal dialog for confirmations, short forms and longer
// texts to read and accept ("End the session?", "Warn Robin", "Report this
// message", the group agreement).
//
// It uses the page's <dialog id="dialog"> with showModal(), so the browser
// keeps the focus inside it, Escape closes it, and the rest of the page is
// inert meanwhile. The confirm action is async: while it runs the buttons
// say so; if it fails, its sentence is shown inside the dialog, next to the
// controls, and the dialog stays open; when it succeeds the dialog closes and
// the focus goes back to the control that opened it.
//
// Everything put in the dialog is text (textContent), never markup. When
// the dialog closes its words are taken off the page (a quoted message must
// not linger in the DOM after the person left the room).

import { h, $, setText } from './dom.js';

/**
 * @typedef {object} Field
 * @property {string} name        key in the values passed to onConfirm
 * @property {string} label       visible label
 * @property {'text'|'textarea'|'select'|'number'} [type]
 * @property {string} [hint]      a line under the label
 * @property {boolean} [required]
 * @property {string} [requiredMessage] shown when a required field is empty
 * @property {number} [maxlength]
 * @property {number} [min]
 * @property {number} [max]
 * @property {string} [value]     initial value
 * @property {{value: string, label: string}[]} [options] for a select
 */

/** The open dialog: {key, onConfirm, onCancel, cancelled, returnFocus, fallbackFocus, focusAfter, busy}, or null. */
let current = null;

/**
 * openDialog shows the dialog.
 * @param {object} o
 * @param {string} o.title
 * @param {string} [o.text]         a sentence under the title
 * @param {string} [o.quote]        quoted text (a message being reported or deleted)
 * @param {Node[]} [o.body]         a longer text to read (elements built with dom.js, text only),
 *                                  in a scrolling region that takes the focus first
 * @param {string} [o.bodyLabel]    the accessible name of that region
 * @param {Field[]} [o.fields]
 * @param {string} o.confirmLabel
 * @param {string} [o.cancelLabel]  default "Cancel"
 * @param {boolean} [o.danger]      a destructive action: red button, focus starts on Cancel
 * @param {boolean} [o.long]        a dialog for reading: wider, and as tall as the screen allows
 * @param {string} [o.key]          names what the dialog is about, for closeDialogFor
 * @param {(values: Record<string,string>) => Promise<unknown>} o.onConfirm
 * @param {() => void} [o.onCancel] called when the person chooses Cancel or presses Escape
 *                                  (not when the page closes the dialog)
 * @param {() => HTMLElement|null} [o.fallbackFocus] where focus goes if the opener is gone
 * @param {() => HTMLElement|null} [o.focusAfter] where focus goes when the dialog closes,
 *                                  instead of back to the opener (null: leave it where it is)
 */
export function openDialog(o) {
  const dialog = $('dialog');
  // A dialog may replace another (a refusal that asks a further question):
  // the focus then goes back to what opened the first one.
  const replaced = dialog.open ? current : null;
  if (dialog.open) dialog.close();
  current = {
    key: o.key ?? '',
    onConfirm: o.onConfirm,
    onCancel: o.onCancel ?? null,
    cancelled: false,
    returnFocus: replaced?.returnFocus ?? (document.activeElement instanceof HTMLElement ? document.activeElement : null),
    fallbackFocus: o.fallbackFocus ?? null,
    focusAfter: o.focusAfter ?? null,
    busy: false,
    confirmLabel: o.confirmLabel,
  };
  dialog.classList.toggle('dialog--long', o.long === true);

  setText($('dialog-title'), o.title);
  setText($('dialog-text'), o.text ?? '');
  $('dialog-text').hidden = !o.text;
  const quote = $('dialog-quote');
  setText(quote, o.quote ?? '');
  quote.hidden = !o.quote;
  setText($('dialog-error'), '');
  const body = $('dialog-body');
  body.replaceChildren(...(o.body ?? []));
  body.hidden = !o.body;
  if (o.body) body.setAttribute('aria-label', o.bodyLabel ?? o.title);
  else body.removeAttribute('aria-label');
  body.scrollTop = 0;

  const fields = (o.fields ?? []).map(buildField);
  $('dialog-fields').replaceChildren(...fields.map((f) => f.wrapper));

  const confirm = $('dialog-confirm');
  setText(confirm, o.confirmLabel);
  confirm.className = o.danger ? 'button button--danger' : 'button button--primary';
  confirm.removeAttribute('aria-disabled');
  setText($('dialog-cancel'), o.cancelLabel ?? 'Cancel');
  $('dialog-cancel').removeAttribute('aria-disabled');

  dialog.showModal();
  const first = fields[0]?.control;
  if (o.body) body.focus(); // read from the top; Tab reaches the buttons
  else if (first) first.focus();
  else if (o.danger) $('dialog-cancel').focus();
  else confirm.focus();
}

/** closeDialog closes the dialog (if open), returning the focus. */
export function closeDialog() {
  const dialog = $('dialog');
  if (dialog.open) dialog.close();
}

/** closeDialogFor closes the dialog if it is about key (for example a message just deleted). */
export function closeDialogFor(key) {
  if (current && current.key === key) closeDialog();
}

function buildField(f) {
  const id = `dialog-field-${f.name}`;
  const hintId = f.hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  let control;
  if (f.type === 'select') {
    control = h('select', { className: 'input', attrs: { id, name: f.name } },
      ...(f.options ?? []).map((opt) => h('option', { text: opt.label, attrs: { value: opt.value } })));
    if (f.value !== undefined) control.value = f.value;
  } else if (f.type === 'textarea') {
    control = h('textarea', { className: 'input', attrs: { id, name: f.name, rows: 3, maxlength: f.maxlength, autocomplete: 'off' } });
    control.value = f.value ?? '';
  } else {
    control = h('input', {
      className: 'input',
      attrs: { id, name: f.name, type: f.type === 'number' ? 'number' : 'text', inputmode: f.type === 'number' ? 'numeric' : undefined, min: f.min, max: f.max, maxlength: f.maxlength, autocomplete: 'off' },
    });
    control.value = f.value ?? '';
  }
  control.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  if (f.required) control.setAttribute('aria-required', 'true');
  const error = h('p', { className: 'field-error', attrs: { id: errorId } });
  const wrapper = h('div', { className: 'field' },
    h('label', { className: 'label', text: f.label, attrs: { for: id } }),
    hintId ? h('p', { className: 'hint', text: f.hint, attrs: { id: hintId } }) : null,
    control,
    error,
  );
  wrapper.dataset.name = f.name;
  control.dataset.required = f.required ? (f.requiredMessage ?? 'Please fill this in.') : '';
  return { wrapper, control, error };
}

async function onSubmit(event) {
  event.preventDefault();
  if (!current || current.busy) return;
  const values = {};
  let firstInvalid = null;
  for (const wrapper of $('dialog-fields').children) {
    const control = wrapper.querySelector('input, textarea, select');
    const error = wrapper.querySelector('.field-error');
    values[wrapper.dataset.name] = control.value;
    const missing = control.dataset.required && control.value.trim() === '';
    setText(error, missing ? control.dataset.required : '');
    if (missing) {
      control.setAttribute('aria-invalid', 'true');
      firstInvalid ??= control;
    } else {
      control.removeAttribute('aria-invalid');
    }
  }
  if (firstInvalid) {
    firstInvalid.focus();
    return;
  }

  const mine = current;
  mine.busy = true;
  const confirm = $('dialog-confirm');
  confirm.setAttribute('aria-disabled', 'true');
  setText($('dialog-error'), '');
  try {
    await mine.onConfirm(values);
    if (current === mine) closeDialog();
  } catch (err) {
    if (current === mine) setText($('dialog-error'), err?.message || 'Something went wrong. Please try again.');
  } finally {
    mine.busy = false;
    if (current === mine) confirm.removeAttribute('aria-disabled');
  }
}

/** cancel: the person chose Cancel (or pressed Escape). */
function cancel() {
  if (current) current.cancelled = true;
  closeDialog();
}

function onClose() {
  // The `close` event comes later than close(): if another dialog was opened
  // meanwhile, this one's close must not undo it.
  if ($('dialog').open) return;
  const closed = current;
  current = null;
  // Nothing the dialog showed stays on the page.
  $('dialog-fields').replaceChildren();
  $('dialog-body').replaceChildren();
  for (const id of ['dialog-title', 'dialog-text', 'dialog-quote', 'dialog-error']) setText($(id), '');
  if (!closed) return;
  if (closed.cancelled) closed.onCancel?.();
  let target;
  if (closed.focusAfter) {
    target = closed.focusAfter();
  } else {
    target = closed.returnFocus;
    if (!target || !target.isConnected || target.closest('[hidden]') || target.disabled) {
      target = closed.fallbackFocus?.() ?? null;
    }
  }
  target?.focus();
}

/** initDialog wires the dialog's form and buttons (once, at start-up). */
export function initDialog() {
  $('dialog-form').addEventListener('submit', onSubmit);
  $('dialog-cancel').addEventListener('click', cancel);
  // Escape: the browser closes the dialog itself; note that it was the person's choice.
  $('dialog').addEventListener('cancel', () => { if (current) current.cancelled = true; });
  $('dialog').addEventListener('close', onClose);
}
