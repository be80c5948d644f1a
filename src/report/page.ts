import { embeddedFontCss, FONT_FAMILY } from './fonts.ts';
import { escapeText, type Html } from './html.ts';

const STYLE = `
:root{--ink:#1d232a;--muted:#5b6670;--line:#d9dee3;--ok:#2f7d32;--bad:#b3261e;--accent:#2f5d8a}
*{box-sizing:border-box}
body{margin:0;font-family:${FONT_FAMILY},sans-serif;color:var(--ink);background:#f6f7f9;line-height:1.45;font-size:15px}
main{max-width:1180px;margin:0 auto;padding:24px 28px 64px;background:white}
header h1{margin:.1em 0 .2em;font-size:28px}
.kicker{margin:0;color:var(--accent);font-weight:700;letter-spacing:.04em;text-transform:uppercase;font-size:12px}
.lede{font-size:16px;max-width:60em}
nav{position:sticky;top:0;background:white;border-bottom:1px solid var(--line);padding:6px 0;margin-bottom:8px;z-index:1;font-size:13px}
nav a{margin-right:14px;color:var(--accent);text-decoration:none}
h2{margin-top:1.8em;border-bottom:2px solid var(--ink);padding-bottom:.2em;font-size:21px}
h3{margin-top:1.4em;font-size:16px}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f4;font-weight:700}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.identity th{width:15em}
code{font-size:12px;word-break:break-all}
.muted{color:var(--muted)}
.ok{color:var(--ok)}
.bad,.violation{color:var(--bad)}
.status{font-weight:700}
.records{font-size:16px}
figure{margin:1em 0 1.6em}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:0 24px}
.charts figure{margin:.6em 0 1.2em}
figure.chart .plot svg{max-width:100%;height:auto}
figure.map-figure svg{width:100%;height:auto;border:1px solid var(--line);border-radius:6px}
svg.map text{font-family:${FONT_FAMILY},sans-serif;font-size:13px;fill:var(--ink);paint-order:stroke;stroke:white;stroke-width:3px}
svg.map .legend text{stroke:none;font-size:12px}
svg.map .legend .records{font-weight:700;fill:var(--ok)}
svg.map .note{stroke:none;font-size:11px;fill:var(--muted)}
figcaption{color:var(--muted);font-size:13px;max-width:60em}
details.numbers summary,details.more summary{cursor:pointer;color:var(--accent);font-size:13px}
details.more{margin:1em 0;border-left:3px solid var(--line);padding-left:12px}
details.more>summary{font-size:15px;font-weight:700}
footer{margin-top:3em;color:var(--muted);font-size:12px;border-top:1px solid var(--line);padding-top:8px}
@media print{nav{display:none}details{display:block}main{max-width:none}}
`;

/** The sections of a body, for the navigation bar: `<section id="x"><h2>Title</h2>`. */
function contents(body: string): [string, string][] {
  return [...body.matchAll(/<section id="([^"]+)"><h2>([^<]*)<\/h2>/g)].map((m) => [m[1]!, m[2]!]);
}

/**
 * The whole document: one file with its styles, fonts, charts and data inline and no script, so it opens
 * without a network; `generator` names the fedmed that wrote it (no date: the same inputs give the same bytes).
 */
export async function page(title: string, body: Html, generator: string): Promise<string> {
  const nav = contents(body.text)
    .map(([id, label]) => `<a href="#${id}">${label}</a>`)
    .join('');
  const main = `<main><nav>${nav}</nav>${body.text}<footer>Written by ${escapeText(generator)} from the files listed above. The same folder always gives the same bytes: no clock, no locale, no random ids. Fonts: Noto Sans, Noto Sans KR and Noto Sans SC (SIL Open Font License), cut to the characters used. Map: Natural Earth via world-atlas.</footer></main>`;
  const fonts = await embeddedFontCss(`${title}${main}`);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${escapeText(generator)}">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; font-src data:; img-src data:">
<title>${escapeText(title)}</title>
<style>
${fonts}
${STYLE}</style>
</head>
<body>
${main}
</body>
</html>
`;
}
