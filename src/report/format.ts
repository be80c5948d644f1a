/** Fixed, locale-independent number formatting: the same text on every machine, in every time zone and locale. */

/** `v` with `digits` decimals, never "-0.000". */
export function fixed(v: number, digits: number): string {
  const text = v.toFixed(digits);
  return Number(text) === 0 ? (0).toFixed(digits) : text;
}

/** "+0.012": the sign always shown, and never "-0.000". */
export function signed(v: number, digits: number): string {
  const text = fixed(v, digits);
  return text.startsWith('-') ? text : `+${text}`;
}

/** An integer with thin spaces between groups of three digits: "1 234 567". */
export function integer(v: number): string {
  const text = Math.round(v).toString();
  const sign = text.startsWith('-') ? '-' : '';
  return sign + text.slice(sign.length).replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
}

/** Bytes in decimal units: "812 B", "22.6 kB", "1.2 MB". */
export function bytes(v: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let x = v;
  let i = 0;
  while (Math.abs(x) >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(x)} B` : `${x.toFixed(1)} ${units[i]}`;
}

/** A metric value: 4 significant decimals for values in [-10, 10], else up to 4 significant digits. */
export function metric(v: number): string {
  if (Math.abs(v) < 10) return fixed(v, 4);
  if (Number.isInteger(v)) return integer(v);
  return Math.abs(v) < 1e6 ? fixed(v, 2) : v.toExponential(3);
}

/** The shortest text that reads back to the same double: for machine-readable attributes. */
export function exact(v: number): string {
  return Object.is(v, -0) ? '0' : String(v);
}

/** Compares strings by UTF-16 code units, the same everywhere (unlike localeCompare). */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
