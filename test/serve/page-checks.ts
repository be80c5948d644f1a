/// <reference lib="dom" />
import type { Page } from 'playwright-core';

/** A text whose colour has too little contrast with what is behind it. */
export interface LowContrast {
  readonly text: string;
  readonly ratio: number;
  readonly needed: number;
}

/**
 * WCAG 2 contrast of every visible HTML text on the page against the first opaque background behind it: 4.5:1,
 * or 3:1 for large text (24 px, or 18.66 px bold). SVG (the map's haloed labels, the charts) is left out.
 */
export function lowContrast(page: Page): Promise<LowContrast[]> {
  return page.evaluate(() => {
    const rgb = (c: string): number[] => (c.match(/[\d.]+/g) ?? []).map(Number);
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
    };
    const background = (el: Element | null): number[] => {
      for (let e = el; e !== null; e = e.parentElement) {
        const c = rgb(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3]! >= 0.99)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const out: { text: string; ratio: number; needed: number }[] = [];
    for (const el of document.body.querySelectorAll('*')) {
      if (el.closest('svg') !== null || !(el instanceof HTMLElement)) continue;
      const text = [...el.childNodes]
        .filter((n) => n.nodeType === Node.TEXT_NODE)
        .map((n) => n.textContent ?? '')
        .join('')
        .trim();
      if (text === '' || el.getClientRects().length === 0) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden') continue;
      const a = lum(rgb(style.color));
      const b = lum(background(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      const needed = large ? 3 : 4.5;
      if (ratio < needed) out.push({ text: text.slice(0, 40), ratio, needed });
    }
    return out;
  });
}

/** Form controls without an accessible name (a label, aria-label or aria-labelledby, or a button's text). */
export function unlabelled(page: Page): Promise<string[]> {
  return page.$$eval('input, select, button, textarea', (els) =>
    els
      .filter((e) => {
        const el = e as HTMLInputElement;
        if (el.type === 'hidden' || el.closest('[hidden]') !== null) return false;
        const labelled =
          (el.labels?.length ?? 0) > 0 ||
          el.getAttribute('aria-label') !== null ||
          el.getAttribute('aria-labelledby') !== null ||
          (el.tagName === 'BUTTON' && (el.textContent ?? '').trim() !== '');
        return !labelled;
      })
      .map((e) => e.id || e.outerHTML.slice(0, 60)),
  );
}

/** Whether each character draws other pixels than an unassigned code point (a box) in the page's font. */
export function glyphsDiffer(page: Page, chars: readonly string[]): Promise<Record<string, boolean>> {
  return page.evaluate(async (cs) => {
    await document.fonts.load('32px fedmed-sans', cs.join(''));
    const draw = (ch: string) => {
      const c = document.createElement('canvas');
      c.width = 64;
      c.height = 64;
      const g = c.getContext('2d')!;
      g.font = '40px fedmed-sans';
      g.fillText(ch, 8, 48);
      return c.toDataURL();
    };
    const box = draw('\u{E000}');
    return Object.fromEntries(cs.map((ch) => [ch, draw(ch) !== box]));
  }, chars);
}
