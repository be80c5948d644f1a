/** HTML built from escaped text: a tagged template that escapes every interpolated string. */

/** A fragment of HTML that is already safe to insert. */
export class Html {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

/** What may be interpolated: text (escaped), HTML, lists of either; absent values write nothing. */
export type Part = Html | string | readonly Part[] | undefined | null | false;

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for use in element content and quoted attribute values. */
export function escapeText(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function render(part: Part): string {
  if (part === undefined || part === null || part === false) return '';
  if (part instanceof Html) return part.text;
  if (typeof part === 'string') return escapeText(part);
  return part.map(render).join('');
}

/** `html\`<p>${text}</p>\``: the literal parts as written, every interpolated string escaped. */
export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0]!;
  parts.forEach((p, i) => {
    out += render(p) + strings[i + 1]!;
  });
  return new Html(out);
}

/** Trusted markup (an SVG rendered by fedmed, a style sheet) inserted as is. */
export const raw = (text: string): Html => new Html(text);

/** Joins fragments with nothing between them. */
export const join = (parts: readonly Part[]): Html => new Html(render(parts));

/** One table cell: text, or text with attributes that carry the exact values behind it. */
export type Cell =
  | string
  | { readonly text: Part; readonly attrs?: Readonly<Record<string, string>>; readonly numeric?: boolean };

/** A table: header labels and rows of cells. */
export interface Table {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
  /** Classes of the table element. */
  readonly className?: string;
}

function cell(c: Cell): Html {
  if (typeof c === 'string') return html`<td>${c}</td>`;
  const attrs = Object.entries(c.attrs ?? {}).map(([k, v]) => raw(` ${k}="${escapeText(v)}"`));
  return html`<td${attrs}${c.numeric === true ? raw(' class="num"') : ''}>${c.text}</td>`;
}

/** Renders a table. */
export function table(t: Table): Html {
  return html`<table${t.className === undefined ? '' : raw(` class="${escapeText(t.className)}"`)}><thead><tr>${t.columns.map(
    (c) => html`<th>${c}</th>`,
  )}</tr></thead><tbody>${t.rows.map(
    (r) =>
      html`<tr>
        ${r.map(cell)}
      </tr>`,
  )}</tbody></table>`;
}
