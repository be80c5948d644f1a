import type { Topology } from 'topojson-specification';
import { loadAtlas, numericCode } from '../report/atlas.ts';
import { renderMap, type MapFlow } from '../report/map.ts';
import { PRIMARY_METRICS } from '../report/metric-names.ts';
import { eventsChart, federationCurve, trainingCurve } from '../report/run-metrics.ts';
import type { Chart } from '../report/charts.ts';
import {
  crossingSchema,
  roundSchema,
  scenarioFileSchema,
  type CrossingFile,
  type RoundFile,
  type ScenarioFile,
} from '../report/run-files.ts';
import { hospitalLabel } from '../report/scenario-section.ts';
import { bytesChart, runMapInput } from '../report/traffic-section.ts';
import { renderSvg } from '../report/svg.ts';
import type { ChartView, IncidentView, SiteView } from './events.ts';

/*
 * What the dashboard draws, built by the report's own map and chart code: the same map and the same charts as
 * `fedmed report`, rendered on the server and handed to the page as SVG.
 */

let atlas: Topology | undefined;

/** A scenario, a round record or a crossing as the report reads them (from memory or from a run folder). */
export const asScenarioFile = (s: unknown): ScenarioFile => scenarioFileSchema.parse(s);
export const asRoundFile = (r: unknown): RoundFile => roundSchema.parse(JSON.parse(JSON.stringify(r)));
export const asCrossingFile = (c: unknown): CrossingFile => crossingSchema.parse(c);

/** The hospitals as the page lists them. */
export function siteViews(scenario: ScenarioFile): SiteView[] {
  return scenario.hospitals.map((h) => ({
    id: h.id,
    label: hospitalLabel(h),
    country: h.country,
    patients: h.patients,
  }));
}

/** True when messages between this hospital and the coordinator cross a national border. */
export function crossesBorder(scenario: ScenarioFile, hospital: string): boolean {
  const site = scenario.coordinator.site;
  const country = scenario.hospitals.find((h) => h.id === hospital)?.country;
  return site === 'neutral' || site !== country;
}

/** The report's map of the scenario, with a thin curve for every hospital and direction, for messages to travel along. */
export function liveMap(scenario: ScenarioFile): string {
  const flows: MapFlow[] = scenario.hospitals.flatMap((h) =>
    (['to-hospital', 'to-coordinator'] as const).map((direction) => ({
      hospital: h.id,
      direction,
      messages: 0,
      bytes: 0,
      crossesBorder: crossesBorder(scenario, h.id),
    })),
  );
  atlas ??= loadAtlas();
  return renderMap({ ...runMapInput(scenario, [], 'live'), flows }, atlas, numericCode);
}

/** The charts a round adds to: two headline metrics, training loss, bytes per round, and incidents. */
export async function roundCharts(
  scenario: ScenarioFile,
  rounds: readonly RoundFile[],
  crossings: readonly CrossingFile[],
): Promise<ChartView[]> {
  const names = new Set(rounds.flatMap((r) => Object.keys(r.evaluate.metrics)));
  const headline = PRIMARY_METRICS.filter((m) => names.has(m)).slice(0, 2);
  const charts: (Chart | undefined)[] = [
    ...headline.map((m) => federationCurve('live', m, rounds, undefined)),
    trainingCurve('live', rounds),
    bytesChart('live-bytes', rounds),
    eventsChart('live', rounds, crossings, scenario),
  ];
  const out: ChartView[] = [];
  for (const c of charts) {
    if (c === undefined) continue;
    out.push({ key: c.key, title: c.title, svg: await renderSvg(c.spec, c.key) });
  }
  return out;
}

/** Rejected replies and failures of one round, each once (a rejected reply is also its round's failure). */
export function incidents(round: RoundFile, crossings: readonly CrossingFile[]): IncidentView[] {
  const out: IncidentView[] = [];
  const rejected = new Set<string>();
  for (const c of crossings) {
    if (c.admitted || c.round !== round.round) continue;
    out.push({ round: c.round, hospital: c.hospital, what: `rejected ${c.kind}`, reason: c.reason ?? '' });
    rejected.add(`${c.hospital}\u0000${c.kind.split('-')[0]}`);
  }
  const failed = (stage: string, what: string, list: readonly { hospital?: string; reason?: string }[]) => {
    for (const f of list)
      if (!rejected.has(`${f.hospital ?? '?'}\u0000${stage}`))
        out.push({ round: round.round, hospital: f.hospital ?? '?', what, reason: f.reason ?? '' });
  };
  failed('fit', 'fit failed', round.fit?.failures ?? []);
  failed('evaluate', 'evaluation failed', round.evaluate.failures);
  return out;
}
