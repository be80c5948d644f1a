import { COHORT_FEATURES } from '../cdm.ts';
import { DATA_CLASS_NAMES, KINDS, type DataClass, type Kind } from '../kinds.ts';
import { SUBGROUP_SEPARATOR } from '../metric-names.ts';
import type { Source } from './enforcer.ts';

/** Classes in the table's order, each once. */
export function orderedClasses(classes: Iterable<DataClass>): DataClass[] {
  const set = new Set(classes);
  return DATA_CLASS_NAMES.filter((c) => set.has(c));
}

/** What an evaluation reply carries besides its base class. */
export interface EvaluationContent {
  /** Metric names it carries (a subgroup metric is `<metric>__<group>`). */
  readonly metrics: readonly string[];
  readonly histogram: boolean;
}

/**
 * The classes of a reply of `kind` from what it actually carries: the kind's base class, and for an
 * evaluation subgroup metrics and a score histogram when present.
 */
export function replyClasses(kind: Kind, content: EvaluationContent): DataClass[] {
  const base = KINDS[kind].dataClass;
  // A membership audit sends counts of patients per score bin, as fine as a score histogram: policies weigh it so.
  if (kind === 'audit-reply') return orderedClasses([base, 'score-histogram']);
  if (base !== 'evaluation-metrics') return [base];
  return orderedClasses([
    base,
    ...(content.metrics.some((m) => m.includes(SUBGROUP_SEPARATOR)) ? (['subgroup-metrics'] as const) : []),
    ...(content.histogram ? (['score-histogram'] as const) : []),
  ]);
}

/** Evaluation settings that decide what an evaluation reply may carry. */
export interface EvaluationAsked {
  readonly subgroups: boolean;
  readonly histogramBins: number;
}

/**
 * The classes a reply of `kind` may carry given what the coordinator asks for: before it sends a request,
 * the coordinator checks these, so it never asks for what a policy forbids.
 */
export function expectedReplyClasses(kind: Kind, asked: EvaluationAsked): DataClass[] {
  return replyClasses(kind, {
    metrics: asked.subgroups ? [`n${SUBGROUP_SEPARATOR}subgroup`] : [],
    histogram: asked.histogramBins > 0,
  });
}

/** The patients a hospital's reply of `kind` derives from: the split its content was computed on. */
export function replySources(kind: Kind, hospital: string): Source[] {
  switch (kind) {
    case 'fit-reply':
    case 'country-only-fit-reply':
    case 'secagg-masked':
    case 'statistics-reply':
    case 'pooled-records':
      return [`${hospital}:train`];
    case 'local-only-reply':
    case 'audit-reply':
      return [`${hospital}:train`, `${hospital}:test`];
    case 'evaluate-reply':
    case 'country-only-reply':
    case 'pooled-reply':
    case 'score-reply':
      return [`${hospital}:test`];
    default:
      return [];
  }
}

/** A model's class: setup before any hospital trained it; per-hospital parameters below k contributors. */
export function modelClass(contributors: number, minHospitals: number): DataClass {
  if (contributors === 0) return 'setup';
  return contributors < minHospitals ? 'parameters-clear' : 'aggregate-model';
}

/** The classes of a hospital's records: personal records, and genetic information where they hold genotypes. */
export function recordClasses(dataKind: string): DataClass[] {
  const genotype = dataKind === 'synthetic-cohort' && COHORT_FEATURES.some((f) => f.name === 'risk_alleles');
  return genotype ? ['personal-records', 'genetic-information'] : ['personal-records'];
}
