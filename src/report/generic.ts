import { canonicalJson } from '../common/hash.ts';
import { byText, exact } from './format.ts';
import { html, type Html } from './html.ts';

/*
 * Any JSON shown as tables: for outputs this report does not know yet (compliance.json, new fields in a round
 * or a scenario), so that they appear in the report as they are instead of breaking it.
 */

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** A scalar as text: numbers exactly, strings as they are. */
export function scalarText(v: unknown): string {
  if (typeof v === 'number') return exact(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || v === null) return String(v);
  return canonicalJson(v);
}

/** Renders a JSON value: objects as key–value tables (keys sorted), arrays of objects as tables. */
export function genericValue(v: unknown, depth = 0): Html {
  if (depth > 3) return html`<code>${canonicalJson(v)}</code>`;
  if (Array.isArray(v)) {
    if (v.length === 0) return html`<span class="muted">none</span>`;
    if (v.every(isRecord)) {
      const keys = [...new Set(v.flatMap((o) => Object.keys(o)))].sort(byText);
      return html`<table class="generic">
        <thead>
          <tr>
            ${keys.map((k) => html`<th>${k}</th>`)}
          </tr>
        </thead>
        <tbody>
          ${v.map(
            (o) =>
              html`<tr>
                ${keys.map((k) => html`<td>${k in o ? genericValue(o[k], depth + 1) : ''}</td>`)}
              </tr>`,
          )}
        </tbody>
      </table>`;
    }
    if (v.every((x) => !isRecord(x) && !Array.isArray(x))) return html`${v.map(scalarText).join(', ')}`;
    return html`<code>${canonicalJson(v)}</code>`;
  }
  if (isRecord(v)) {
    const keys = Object.keys(v).sort(byText);
    if (keys.length === 0) return html`<span class="muted">empty</span>`;
    return html`<table class="generic kv">
      <tbody>
        ${keys.map(
          (k) =>
            html`<tr>
              <th>${k}</th>
              <td>${genericValue(v[k], depth + 1)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
  }
  return html`${scalarText(v)}`;
}

/** Every finite number inside `v`, by its dotted path below `prefix` (`privacy.epsilon`, `attack.0.auc`). */
export function numericLeaves(
  v: unknown,
  prefix: string,
  out = new Map<string, number>(),
): Map<string, number> {
  if (typeof v === 'number' && Number.isFinite(v)) out.set(prefix, v);
  else if (Array.isArray(v)) v.forEach((x, i) => numericLeaves(x, `${prefix}.${i}`, out));
  else if (isRecord(v))
    for (const k of Object.keys(v).sort(byText)) numericLeaves(v[k], `${prefix}.${k}`, out);
  return out;
}

/** Objects in `v` (itself, or the items of an array) that name a hospital: events to put on a timeline. */
export function hospitalEvents(v: unknown): Record<string, unknown>[] {
  const items = Array.isArray(v) ? v : [v];
  return items.filter((x): x is Record<string, unknown> => isRecord(x) && typeof x.hospital === 'string');
}
