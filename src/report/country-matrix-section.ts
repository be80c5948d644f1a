import { z } from 'zod';
import { countryName } from './atlas.ts';
import { exact, metric as formatMetric } from './format.ts';
import { html, table, type Cell, type Html } from './html.ts';
import { metricLabel } from './metric-names.ts';

const matrixSchema = z.looseObject({
  metric: z.string(),
  evaluatedOn: z.array(z.string()),
  rows: z.array(
    z.looseObject({ trainedOn: z.string(), values: z.record(z.string(), z.number().nullable()) }),
  ),
});

/**
 * "What joining buys each country": the country matrix of summary.json (trained on × evaluated on), when the
 * run had the country-only baseline; undefined otherwise.
 */
export function countryMatrixSection(summary: Record<string, unknown> | undefined): Html | undefined {
  const parsed = matrixSchema.safeParse(summary?.countryMatrix);
  if (!parsed.success) return undefined;
  const m = parsed.data;
  const rows: Cell[][] = m.rows.map((r) => [
    r.trainedOn,
    ...m.evaluatedOn.map((c): Cell => {
      const v = r.values[c];
      return v === null || v === undefined
        ? '—'
        : {
            text: formatMetric(v),
            numeric: true,
            attrs: { 'data-trained-on': r.trainedOn, 'data-evaluated-on': c, 'data-value': exact(v) },
          };
    }),
  ]);
  return html`<p>
      Each model's ${metricLabel(m.metric)} on every country's held-out patients: each country federating
      alone, the joint federation, local-only (each hospital's own model at home) and the pooled oracle †. A
      single seed; <code>fedmed bench … --baselines country-only</code> gives intervals over seeds.
    </p>
    ${table({
      columns: ['trained on ↓ / evaluated on →', ...m.evaluatedOn.map((c) => countryName(c))],
      rows,
      className: 'country-matrix',
    })}`;
}
