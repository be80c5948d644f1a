import { escapeText } from '../report/html.ts';
import { FONT_FAMILY } from '../report/fonts.ts';

/** Pauses the speed control offers, in milliseconds per message, with their names. */
export const PACES: readonly (readonly [number, string])[] = [
  [0, 'full speed'],
  [40, 'fast (40 ms per message)'],
  [150, 'normal (0.15 s per message)'],
  [600, 'slow motion (0.6 s per message)'],
  [1500, 'very slow (1.5 s per message)'],
];

/**
 * The dashboard's page: its structure and labels; the script fills it from the catalogue and the live feed.
 * Everything it loads comes from this server.
 */
export function dashboardPage(version: string): string {
  const paces = PACES.map(([ms, label]) => `<option value="${ms}">${escapeText(label)}</option>`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fedmed — live federation</title>
<link rel="stylesheet" href="/fonts.css">
<link rel="stylesheet" href="/dashboard.css">
<script type="module" src="/dashboard.js"></script>
</head>
<body>
<a class="skip" href="#stage">Skip to the map</a>
<header>
  <h1>fedmed <span class="sub">live federation</span></h1>
  <p id="status" role="status" aria-live="polite">Choose a scenario and start it, or replay a finished run.</p>
</header>
<main>
<section id="setup" aria-labelledby="setup-title">
  <h2 id="setup-title">Run a scenario</h2>
  <form id="start-form" novalidate>
    <label for="scenario">Shipped scenario</label>
    <select id="scenario" name="scenario"></select>
    <label for="upload">…or upload a scenario file (JSON)</label>
    <input id="upload" name="upload" type="file" accept=".json,application/json" aria-describedby="upload-errors">
    <button type="button" id="clear-upload" class="link" hidden>Use the shipped scenario instead</button>
    <ul id="upload-errors" class="field-errors" aria-live="polite"></ul>
    <div id="scenario-info">
      <p id="scenario-description" class="muted"></p>
      <table id="hospital-list" aria-label="Hospitals of the chosen scenario">
        <thead><tr><th scope="col">Hospital</th><th scope="col">Country</th><th scope="col" class="num">Patients</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <div class="pair">
      <div><label for="seed">Seed</label><input id="seed" name="seed" type="number" min="0" step="1" inputmode="numeric" aria-describedby="seed-error"><p id="seed-error" class="field-error" data-path="$.seed"></p></div>
      <div><label for="rounds">Rounds</label><input id="rounds" name="rounds" type="number" min="1" step="1" inputmode="numeric" aria-describedby="rounds-error"><p id="rounds-error" class="field-error" data-path="$.rounds"></p></div>
    </div>
    <label for="strategy">Strategy</label>
    <select id="strategy" name="strategy" aria-describedby="strategy-error"></select>
    <p id="strategy-error" class="field-error" data-path="$.strategy"></p>
    <label for="backend">Training backend</label>
    <select id="backend" name="backend" aria-describedby="backend-error"></select>
    <p id="backend-error" class="field-error" data-path="$.backend"></p>
    <fieldset>
      <legend>Baselines beside the federation</legend>
      <label class="check"><input type="checkbox" id="baseline-local-only" value="local-only"> each hospital alone</label>
      <label class="check"><input type="checkbox" id="baseline-pooled" value="pooled"> pooled oracle († a sovereignty violation)</label>
    </fieldset>
    <p id="start-error" class="field-error" data-path="$" role="alert"></p>
    <button type="submit" id="start" class="primary">Start the federation</button>
  </form>
  <h2 id="replay-title">Replay a finished run</h2>
  <form id="replay-form" aria-labelledby="replay-title">
    <label for="replay-folder">Run folder</label>
    <select id="replay-folder" name="folder"></select>
    <p id="replay-error" class="field-error" role="alert"></p>
    <button type="submit" id="replay">Replay at the chosen speed</button>
  </form>
</section>
<section id="stage" aria-labelledby="stage-title" tabindex="-1">
  <div class="stage-head">
    <h2 id="stage-title">Nothing running</h2>
    <div class="controls">
      <label for="pace">Speed</label>
      <select id="pace">${paces}</select>
      <button type="button" id="stop" disabled>Stop</button>
      <a id="report-link" class="button" hidden target="_blank" rel="noopener">Open the report</a>
    </div>
  </div>
  <p id="phase" class="muted"></p>
  <div class="stage-grid">
    <div id="map" class="map-holder" aria-describedby="map-caption"></div>
    <dl id="counters" aria-label="What crossed so far">
      <div><dt>Round</dt><dd id="round" data-value="0">–</dd></div>
      <div><dt>Messages across a border</dt><dd id="border-messages" data-value="0">0</dd></div>
      <div><dt>Bytes to hospitals</dt><dd id="bytes-to-hospitals" data-value="0">0 B</dd></div>
      <div><dt>Bytes to the coordinator</dt><dd id="bytes-to-coordinator" data-value="0">0 B</dd></div>
      <div><dt>Bytes across borders</dt><dd id="bytes-cross-border" data-value="0">0 B</dd></div>
      <div><dt>Replies rejected</dt><dd id="rejected" data-value="0">0</dd></div>
      <div class="records"><dt>Raw records exported</dt><dd id="records-exported" data-value="0">0</dd></div>
    </dl>
  </div>
  <p id="map-caption" class="muted">Each dot is one message: the global model going out to a hospital, its update and metrics coming back. Red curves cross a national border; green ones stay in the country. Patient records never move.</p>
  <div class="below">
    <section id="rounds-section" aria-labelledby="rounds-title">
      <h3 id="rounds-title">Rounds</h3>
      <table id="round-table"><thead><tr><th scope="col">Round</th><th scope="col" class="num">AUROC</th><th scope="col" class="num">Accuracy</th><th scope="col" class="num">Loss</th><th scope="col" class="num">Hospitals admitted</th></tr></thead><tbody></tbody></table>
    </section>
    <section id="incidents" aria-labelledby="incidents-title">
      <h3 id="incidents-title">Rejected replies and faults</h3>
      <ol id="incident-list"></ol>
      <p id="no-incidents" class="muted">None so far.</p>
    </section>
  </div>
</section>
<section id="charts" aria-labelledby="charts-title">
  <h2 id="charts-title">Charts by round</h2>
  <div id="chart-grid"></div>
</section>
</main>
<footer class="muted">fedmed ${escapeText(version)} · served from this machine only · fonts: Noto Sans, Noto Sans KR, Noto Sans SC (SIL OFL) · map: Natural Earth via world-atlas</footer>
</body>
</html>
`;
}

/** The dashboard's styles: projector-sized type, colours with at least 4.5:1 contrast, visible focus. */
export const DASHBOARD_CSS = `
:root{--ink:#1d232a;--muted:#4f5a64;--line:#c9d0d6;--bg:#f4f6f8;--panel:#fff;--accent:#1f5a93;--bad:#a8231b;--ok:#2a6f2e;--border:#d6404a;--domestic:#3a8a3f}
*{box-sizing:border-box}
[hidden]{display:none!important}
html{font-size:15px}
@media (min-width:1600px){html{font-size:17px}}
body{margin:0;font-family:${FONT_FAMILY},sans-serif;color:var(--ink);background:var(--bg);line-height:1.4}
.skip{position:absolute;left:-999px;top:0;background:var(--panel);padding:6px 10px}
.skip:focus{left:8px;z-index:10}
header{display:flex;align-items:baseline;gap:24px;padding:8px 20px;background:var(--ink);color:#fff}
header h1{margin:0;font-size:1.4rem}
header .sub{font-weight:400;color:#d5dde5}
#status{margin:0;font-size:1rem;color:#fff}
main{display:grid;grid-template-columns:300px minmax(0,1fr);gap:14px;padding:12px 16px}
#setup{grid-row:span 2;background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 14px;align-self:start}
#stage,#charts{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:8px 14px;min-width:0}
h2{font-size:1.1rem;margin:.3em 0 .5em}
h3{font-size:1rem;margin:.4em 0}
label{display:block;font-weight:600;margin:.5em 0 .15em;font-size:.93rem}
label.check{font-weight:400;display:flex;gap:6px;align-items:center}
input,select,button,.button{font:inherit;font-size:.95rem;color:var(--ink)}
input[type=number],select{width:100%;padding:4px 6px;border:1px solid #6b7680;border-radius:4px;background:#fff}
input[type=file]{width:100%;font-size:.85rem}
fieldset{border:1px solid var(--line);border-radius:4px;margin:.6em 0;padding:4px 8px}
legend{font-weight:600;font-size:.93rem}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:8px}
button,.button{display:inline-block;padding:6px 14px;border:1px solid var(--accent);border-radius:4px;background:#fff;color:var(--accent);cursor:pointer;text-decoration:none}
button.primary{background:var(--accent);color:#fff;width:100%;margin-top:.4em;font-weight:700}
button:disabled{border-color:#8a949d;color:#5f6a73;background:#eef0f2;cursor:not-allowed}
button.link{border:none;padding:2px 0;text-decoration:underline;background:none}
:focus-visible{outline:3px solid #e08a00;outline-offset:2px}
.field-error{color:var(--bad);margin:.15em 0;font-size:.88rem;min-height:0}
.field-error:empty{display:none}
.field-errors{color:var(--bad);margin:.3em 0;padding-left:1.1em;font-size:.85rem}
.field-errors code{font-size:.85rem;color:var(--bad);font-weight:700}
[aria-invalid=true]{border-color:var(--bad)!important;outline:2px solid var(--bad)}
.muted{color:var(--muted)}
table{border-collapse:collapse;font-size:.88rem;width:100%}
th,td{border-bottom:1px solid var(--line);padding:2px 6px;text-align:left}
th{background:#eef1f4}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
#scenario-description{font-size:.85rem;margin:.4em 0}
.stage-head{display:flex;justify-content:space-between;align-items:center;gap:12px;flex-wrap:wrap}
.controls{display:flex;gap:8px;align-items:center}
.controls label{margin:0}
.controls select{width:auto}
#phase{margin:.2em 0;min-height:1.3em;font-size:.9rem}
.stage-grid{display:grid;grid-template-columns:minmax(0,1fr) 230px;gap:12px;align-items:start}
.map-holder svg{width:100%;height:auto;max-height:calc(100vh - 250px);display:block;border:1px solid var(--line);border-radius:6px}
svg.map text{font-family:${FONT_FAMILY},sans-serif;font-size:13px;fill:var(--ink);paint-order:stroke;stroke:#fff;stroke-width:3px}
svg.map .legend text{stroke:none;font-size:12px}
svg.map .legend .records{font-weight:700;fill:var(--ok)}
svg.map .note{stroke:none;font-size:11px;fill:var(--muted)}
svg.map circle.packet{stroke:#fff;stroke-width:1.5}
svg.map path.flow.active{stroke-opacity:1}
#counters{margin:0;display:grid;gap:6px}
#counters div{border:1px solid var(--line);border-radius:6px;padding:4px 8px}
#counters dt{font-size:.8rem;color:var(--muted)}
#counters dd{margin:0;font-size:1.35rem;font-weight:700;font-variant-numeric:tabular-nums}
#counters .records dd{color:var(--ok)}
.below{display:grid;grid-template-columns:minmax(0,1.3fr) minmax(0,1fr);gap:14px}
#incident-list{padding-left:1.2em;font-size:.88rem;max-height:12em;overflow:auto;margin:0}
#incident-list li{margin:.2em 0}
#incident-list .what{color:var(--bad);font-weight:700}
#chart-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:8px 18px}
#chart-grid figure{margin:0}
#chart-grid svg{max-width:100%;height:auto}
#chart-grid figcaption{font-weight:700;font-size:.9rem}
footer{padding:6px 16px 16px;font-size:.8rem}
@media (max-width:1000px){main{grid-template-columns:1fr}#setup{grid-row:auto}.stage-grid,.below{grid-template-columns:1fr}}
@media (prefers-reduced-motion:reduce){svg.map circle.packet{display:none}}
`;
