/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { bytes as formatBytes, integer, metric } from '../../report/format.ts';
import type { Catalogue, FeedEvent, FieldIssue, SiteView, Totals } from '../events.ts';

/*
 * The dashboard's script: fills the form from the catalogue, validates uploads through the server, starts runs
 * and replays, and draws the feed of the session being watched (every tab follows the current session).
 */

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const FORM_FIELDS = ['seed', 'rounds', 'strategy', 'backend'] as const;

interface ScenarioPreview {
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  readonly rounds: number;
  readonly strategy: string;
  readonly backend: string;
  readonly baselines: readonly string[];
  readonly hospitals: readonly SiteView[];
}

let uploaded: unknown;
let uploadLimit = Infinity;
let watching: { id: string; source: EventSource; live: boolean } | undefined;
let pace = 0;
let sessionRounds = 0;
let liveBorderMessages = 0;
const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)').matches;

async function api<T>(path: string, body?: unknown): Promise<{ status: number; data: T }> {
  const response = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: response.status, data: (await response.json()) as T };
}

function option(value: string, label: string): HTMLOptionElement {
  const o = document.createElement('option');
  o.value = value;
  o.textContent = label;
  return o;
}

function setStatus(text: string): void {
  $('status').textContent = text;
}

function fillCatalogue(c: Catalogue): void {
  uploadLimit = c.uploadLimitBytes;
  const scenario = $<HTMLSelectElement>('scenario');
  scenario.replaceChildren(
    ...c.scenarios.map((s) => option(s.file, `${s.name} — ${s.hospitals} hospitals, ${s.rounds} rounds`)),
  );
  $<HTMLSelectElement>('strategy').replaceChildren(...c.strategies.map((s) => option(s, s)));
  $<HTMLSelectElement>('backend').replaceChildren(...c.backends.map((b) => option(b, b)));
  fillRuns(c.runs);
}

function fillRuns(runs: Catalogue['runs']): void {
  const select = $<HTMLSelectElement>('replay-folder');
  const keep = select.value;
  select.replaceChildren(
    ...runs.map((r) => option(r.folder, `${r.folder} (${r.status}, ${r.rounds} rounds)`)),
  );
  if (runs.some((r) => r.folder === keep)) select.value = keep;
  $<HTMLButtonElement>('replay').disabled = runs.length === 0;
}

function showPreview(p: ScenarioPreview): void {
  $('scenario-description').textContent = p.description;
  const body = $('hospital-list').querySelector('tbody')!;
  body.replaceChildren(
    ...p.hospitals.map((h) => {
      const tr = document.createElement('tr');
      const name = document.createElement('td');
      name.textContent = h.label;
      name.dataset.hospital = h.id;
      const country = document.createElement('td');
      country.textContent = h.country;
      const patients = document.createElement('td');
      patients.className = 'num';
      patients.textContent = integer(h.patients);
      tr.append(name, country, patients);
      return tr;
    }),
  );
  $<HTMLInputElement>('seed').value = String(p.seed);
  $<HTMLInputElement>('rounds').value = String(p.rounds);
  $<HTMLSelectElement>('strategy').value = p.strategy;
  $<HTMLSelectElement>('backend').value = p.backend;
  $<HTMLInputElement>('baseline-local-only').checked = p.baselines.includes('local-only');
  $<HTMLInputElement>('baseline-pooled').checked = p.baselines.includes('pooled');
}

function clearIssues(): void {
  for (const f of FORM_FIELDS) {
    $(`${f}-error`).textContent = '';
    $(f).removeAttribute('aria-invalid');
  }
  $('upload-errors').replaceChildren();
  $('upload').removeAttribute('aria-invalid');
  $('start-error').textContent = '';
}

/** Each issue beside its field: seed, rounds, strategy and backend have their own; the rest are the upload's. */
function showIssues(issues: readonly FieldIssue[]): void {
  clearIssues();
  const rest: FieldIssue[] = [];
  for (const issue of issues) {
    const field = FORM_FIELDS.find((f) => issue.path === `$.${f}` || issue.path.startsWith(`$.${f}.`));
    if (field === undefined) {
      rest.push(issue);
      continue;
    }
    const p = $(`${field}-error`);
    p.textContent = [p.textContent, `${issue.path}: ${issue.message}`].filter((t) => t !== '').join('; ');
    $(field).setAttribute('aria-invalid', 'true');
  }
  if (rest.length === 0) return;
  if (uploaded !== undefined) {
    $('upload').setAttribute('aria-invalid', 'true');
    $('upload-errors').replaceChildren(
      ...rest.map((i) => {
        const li = document.createElement('li');
        li.dataset.path = i.path;
        const code = document.createElement('code');
        code.textContent = i.path;
        li.append(code, `: ${i.message}`);
        return li;
      }),
    );
  } else $('start-error').textContent = rest.map((i) => `${i.path}: ${i.message}`).join('; ');
}

async function chooseShipped(): Promise<void> {
  const file = $<HTMLSelectElement>('scenario').value;
  if (file === '') return;
  const { data } = await api<ScenarioPreview>(`/api/scenarios/${encodeURIComponent(file)}`);
  clearIssues();
  showPreview(data);
}

async function onUpload(): Promise<void> {
  const input = $<HTMLInputElement>('upload');
  const file = input.files?.[0];
  if (file === undefined) return;
  let json: unknown;
  uploaded = null;
  if (file.size > uploadLimit) {
    showIssues([
      {
        path: '$',
        message: `${file.name} is ${file.size} bytes; the dashboard takes scenarios of at most ${uploadLimit} bytes`,
      },
    ]);
    return;
  }
  try {
    json = JSON.parse(await file.text());
  } catch (e) {
    showIssues([{ path: '$', message: `${file.name} is not valid JSON (${(e as Error).message})` }]);
    return;
  }
  uploaded = json;
  $('clear-upload').hidden = false;
  const { data } = await api<{ issues?: FieldIssue[]; preview?: ScenarioPreview; error?: string }>(
    '/api/check',
    { scenario: json },
  );
  const issues = data.issues ?? [{ path: '$', message: data.error ?? 'the server refused it' }];
  showIssues(issues);
  if (data.preview !== undefined) showPreview(data.preview);
  setStatus(
    issues.length === 0
      ? `${file.name}: a valid scenario, ready to start.`
      : `${file.name}: ${issues.length} problem${issues.length === 1 ? '' : 's'}, listed under the upload.`,
  );
}

function choices(): Record<string, unknown> {
  const number = (id: string) => {
    const v = $<HTMLInputElement>(id).value.trim();
    return v === '' ? undefined : Number(v);
  };
  return {
    seed: number('seed'),
    rounds: number('rounds'),
    strategy: $<HTMLSelectElement>('strategy').value,
    backend: $<HTMLSelectElement>('backend').value,
    baselines: ['local-only', 'pooled'].filter((b) => $<HTMLInputElement>(`baseline-${b}`).checked),
    msPerMessage: pace,
  };
}

async function start(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const body =
    uploaded !== undefined && uploaded !== null
      ? { scenario: uploaded, ...choices() }
      : { file: $<HTMLSelectElement>('scenario').value, ...choices() };
  const { status, data } = await api<{ session?: string; issues?: FieldIssue[]; error?: string }>(
    '/api/runs',
    body,
  );
  if (data.issues !== undefined) {
    showIssues(data.issues);
    setStatus('The scenario has problems: see the fields marked in red.');
    return;
  }
  if (status !== 202 || data.session === undefined) {
    $('start-error').textContent = data.error ?? `the server answered ${status}`;
    return;
  }
  clearIssues();
  watch(data.session);
  $('stage').focus();
}

async function replay(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const folder = $<HTMLSelectElement>('replay-folder').value;
  const { status, data } = await api<{ session?: string; error?: string }>('/api/replays', {
    folder,
    msPerMessage: pace,
  });
  $('replay-error').textContent = status === 202 ? '' : (data.error ?? `the server answered ${status}`);
  if (data.session !== undefined) watch(data.session);
}

function setCounter(id: string, value: number, text: string): void {
  const dd = $(id);
  dd.dataset.value = String(value);
  dd.textContent = text;
}

function showTotals(t: Totals): void {
  liveBorderMessages = t.borderMessages;
  setCounter('border-messages', t.borderMessages, integer(t.borderMessages));
  setCounter('bytes-to-hospitals', t.toHospitals, formatBytes(t.toHospitals));
  setCounter('bytes-to-coordinator', t.toCoordinator, formatBytes(t.toCoordinator));
  setCounter('bytes-cross-border', t.crossBorder, formatBytes(t.crossBorder));
  setCounter('rejected', t.rejected, integer(t.rejected));
}

function resetStage(): void {
  $('map').replaceChildren();
  $('round-table').querySelector('tbody')!.replaceChildren();
  $('incident-list').replaceChildren();
  $('no-incidents').hidden = false;
  $('chart-grid').replaceChildren();
  $('report-link').hidden = true;
  $('phase').textContent = '';
  setCounter('round', 0, '–');
  showTotals({
    toHospitals: 0,
    toCoordinator: 0,
    crossBorder: 0,
    messages: 0,
    borderMessages: 0,
    rejected: 0,
  });
}

let packets = 0;

/** A dot travelling along the hospital's curve in the message's direction; the curve thickens with traffic. */
function animate(hospital: string, direction: string, border: boolean): void {
  const svg = $('map').querySelector('svg');
  const path = svg?.querySelector<SVGPathElement>(
    `path.flow[data-hospital="${CSS.escape(hospital)}"][data-direction="${direction}"]`,
  );
  if (svg === null || svg === undefined || path === null || path === undefined) return;
  const count = Number(path.dataset.count ?? '0') + 1;
  path.dataset.count = String(count);
  path.setAttribute('stroke-width', (1 + Math.min(5, Math.log2(1 + count))).toFixed(1));
  if (reducedMotion || packets > 200) return;
  const dot = document.createElementNS('http://www.w3.org/2000/svg', 'circle');
  dot.setAttribute('r', '6');
  dot.setAttribute('class', 'packet');
  dot.setAttribute('fill', border ? '#d6404a' : '#3a8a3f');
  svg.querySelector('g.sites')?.before(dot);
  packets++;
  const length = path.getTotalLength();
  const duration = Math.min(3000, Math.max(500, pace * 2.5));
  const t0 = performance.now();
  const step = (now: number) => {
    const t = Math.min(1, (now - t0) / duration);
    const p = path.getPointAtLength(length * t);
    dot.setAttribute('cx', p.x.toFixed(1));
    dot.setAttribute('cy', p.y.toFixed(1));
    if (t < 1) requestAnimationFrame(step);
    else {
      dot.remove();
      packets--;
    }
  };
  requestAnimationFrame(step);
}

function cell(value: number | undefined, numeric = true): HTMLTableCellElement {
  const td = document.createElement('td');
  if (numeric) td.className = 'num';
  if (value !== undefined) {
    td.dataset.value = String(value);
    td.textContent = metric(value);
  } else td.textContent = '–';
  return td;
}

function onEvent(e: FeedEvent): void {
  switch (e.type) {
    case 'session': {
      resetStage();
      sessionRounds = e.rounds;
      $('stage-title').textContent =
        `${e.mode === 'replay' ? 'Replay of ' : ''}${e.scenario} · seed ${e.seed} · ${e.strategy} · ${e.backend}`;
      $('map').innerHTML = e.map;
      $('map').dataset.session = e.id;
      $('stop').textContent = e.mode === 'replay' ? 'Stop the replay' : 'Stop the run';
      $<HTMLButtonElement>('stop').disabled = false;
      $('stage').dataset.state = 'running';
      setStatus(
        `${e.mode === 'replay' ? 'Replaying' : 'Running'} ${e.scenario}: ${e.hospitals.length} hospitals.`,
      );
      break;
    }
    case 'pace': {
      pace = e.msPerMessage;
      const select = $<HTMLSelectElement>('pace');
      if ([...select.options].some((o) => Number(o.value) === pace)) select.value = String(pace);
      break;
    }
    case 'phase':
      $('phase').textContent = e.text;
      break;
    case 'message':
      if (e.crossesBorder) {
        liveBorderMessages++;
        setCounter('border-messages', liveBorderMessages, integer(liveBorderMessages));
      }
      $('phase').textContent =
        e.round === 0
          ? 'setting up the hospitals'
          : `round ${e.round}: ${e.kind} ${e.direction === 'to-hospital' ? 'to' : 'from'} ${e.hospital}`;
      animate(e.hospital, e.direction, e.crossesBorder);
      break;
    case 'round': {
      setCounter('round', e.round, `${e.round} of ${sessionRounds}`);
      showTotals(e.totals);
      const tr = document.createElement('tr');
      tr.dataset.round = String(e.round);
      const r = document.createElement('td');
      r.textContent = String(e.round);
      const admitted = document.createElement('td');
      admitted.className = 'num';
      admitted.textContent = `${e.admitted.length} of ${e.sampled.length}`;
      tr.append(r, cell(e.metrics.auroc), cell(e.metrics.accuracy), cell(e.metrics.loss), admitted);
      $('round-table').querySelector('tbody')!.prepend(tr);
      for (const i of e.incidents) {
        const li = document.createElement('li');
        li.dataset.round = String(i.round);
        li.dataset.hospital = i.hospital;
        const what = document.createElement('span');
        what.className = 'what';
        what.textContent = i.what;
        li.append(`round ${i.round}, ${i.hospital}: `, what, ` — ${i.reason}`);
        $('incident-list').append(li);
        $('no-incidents').hidden = true;
      }
      const auroc = e.metrics.auroc;
      setStatus(
        `Round ${e.round} of ${sessionRounds} done${auroc === undefined ? '' : `: AUROC ${metric(auroc)}`}.`,
      );
      break;
    }
    case 'charts':
      $('chart-grid').replaceChildren(
        ...e.charts.map((c) => {
          const f = document.createElement('figure');
          f.dataset.chart = c.key;
          const cap = document.createElement('figcaption');
          cap.textContent = c.title;
          const plot = document.createElement('div');
          plot.innerHTML = c.svg;
          f.append(cap, plot);
          return f;
        }),
      );
      break;
    case 'done': {
      showTotals(e.totals);
      $('stage').dataset.state = e.status;
      $('stage').dataset.rounds = String(e.roundsCompleted);
      $<HTMLButtonElement>('stop').disabled = true;
      const agrees =
        e.manifestTotals === undefined
          ? ''
          : (['toHospitals', 'toCoordinator', 'crossBorder', 'messages', 'rejected'] as const).every(
                (k) => e.manifestTotals![k] === e.totals[k],
              )
            ? ' The totals shown equal the manifest’s.'
            : ' The totals shown differ from the manifest’s.';
      $('phase').textContent = e.detail ?? '';
      setStatus(
        `${e.status === 'completed' ? 'Finished' : e.status === 'stopped' ? 'Stopped' : 'Failed'}: ${e.roundsCompleted} rounds.${agrees}`,
      );
      if (e.report !== undefined) {
        const a = $<HTMLAnchorElement>('report-link');
        a.href = e.report;
        a.hidden = false;
      }
      void api<Catalogue>('/api/catalogue').then(({ data }) => fillRuns(data.runs));
      break;
    }
  }
}

function watch(id: string): void {
  if (watching?.id === id) return;
  watching?.source.close();
  const source = new EventSource(`/api/sessions/${encodeURIComponent(id)}/events`);
  watching = { id, source, live: true };
  source.onmessage = (m: MessageEvent<string>) => onEvent(JSON.parse(m.data) as FeedEvent);
  source.addEventListener('end', () => source.close());
}

async function init(): Promise<void> {
  const { data } = await api<Catalogue>('/api/catalogue');
  fillCatalogue(data);
  await chooseShipped();
  $('scenario').addEventListener('change', () => {
    uploaded = undefined;
    $<HTMLInputElement>('upload').value = '';
    $('clear-upload').hidden = true;
    void chooseShipped();
  });
  $('upload').addEventListener('change', () => void onUpload());
  $('clear-upload').addEventListener('click', () => {
    uploaded = undefined;
    $<HTMLInputElement>('upload').value = '';
    $('clear-upload').hidden = true;
    void chooseShipped();
  });
  $<HTMLFormElement>('start-form').addEventListener('submit', (e) => void start(e));
  $<HTMLFormElement>('replay-form').addEventListener('submit', (e) => void replay(e));
  $('pace').addEventListener('change', () => {
    pace = Number($<HTMLSelectElement>('pace').value);
    if (watching !== undefined)
      void api(`/api/sessions/${encodeURIComponent(watching.id)}/pace`, { msPerMessage: pace });
  });
  $('stop').addEventListener('click', () => {
    if (watching !== undefined) void api(`/api/sessions/${encodeURIComponent(watching.id)}/stop`, {});
  });
  // Every tab follows the session most recently started, from any tab.
  const current = new EventSource('/api/current');
  current.onmessage = (m: MessageEvent<string>) => {
    const { session } = JSON.parse(m.data) as { session?: string };
    if (session !== undefined) watch(session);
  };
  document.body.dataset.ready = 'true';
}

void init();
