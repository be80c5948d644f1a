import {
  expectedReplyClasses,
  modelClass,
  orderedClasses,
  recordClasses,
  replyClasses,
  replySources,
  type EvaluationAsked,
} from '../../protocol/jurisdiction/classes.ts';
import { Consortium } from '../../protocol/jurisdiction/consortium.ts';
import {
  Enforcer,
  type ChainedFacts,
  type Facts,
  type Source,
  type Verdict,
} from '../../protocol/jurisdiction/enforcer.ts';
import type { TypedVector } from '../../protocol/envelope.ts';
import { KINDS, type DataClass, type Kind, type ReplyKind, type RequestKind } from '../../protocol/kinds.ts';
import type { Scenario } from '../../scenario/schema.ts';
import type { AdmittedReply } from '../boundary.ts';
import { topologyHops } from '../topology/hops.ts';
import { unionAll, withSource } from './sorted-sources.ts';

/** Where a model's content comes from: its classes and the patients whose records trained it. */
export interface Provenance {
  readonly classes: readonly DataClass[];
  readonly sources: readonly Source[];
}

/** A fit result as the gate needs it: the hospital and the parameters vector the boundary admitted. */
export interface Contribution {
  readonly hospital: string;
  readonly reply: { readonly vectors: { readonly parameters?: Float32Array | undefined } };
}

/**
 * The coordinator's side of the jurisdiction policies: computes each message's classes and sources from the
 * kind table and from what the coordinator itself knows (the models it made, the replies it admitted, what
 * it asks for), and asks the {@link Enforcer} whether it may cross. Models are tracked by identity: the
 * initial model, each aggregate, each admitted fit reply (a sequential strategy relays it as is).
 */
export class JurisdictionGate {
  readonly enforcer: Enforcer;
  readonly #asked: EvaluationAsked;
  readonly #countryOf: ReadonlyMap<string, string>;
  readonly #records: readonly DataClass[];
  readonly #models = new WeakMap<TypedVector, Provenance>();
  /** The model last sent to each hospital, which its fit reply was trained from. */
  readonly #sent = new Map<string, Provenance>();
  /** Every hospital's training split, which the federation's transform derives from. */
  #everyTrainSplit: readonly Source[] | undefined;

  constructor(scenario: Scenario, initial: Float32Array) {
    this.#countryOf = new Map(scenario.hospitals.map((h) => [h.id, h.country]));
    this.enforcer = new Enforcer(
      new Consortium(scenario.jurisdiction),
      this.#countryOf,
      scenario.coordinator.site,
      topologyHops(scenario),
    );
    this.#asked = scenario.evaluation;
    this.#records = recordClasses(scenario.data.kind);
    this.#models.set(initial, { classes: ['setup'], sources: [] });
  }

  /** Where `model` comes from, for a checkpoint (undefined for a model never registered). */
  provenanceOf(model: Float32Array): Provenance | undefined {
    return this.#models.get(model);
  }

  /** Registers `model` as coming from `provenance`: the global model a resumed run starts from. */
  register(model: Float32Array, provenance: Provenance): void {
    this.#models.set(model, { classes: [...provenance.classes], sources: [...provenance.sources] });
  }

  /** The country of a hospital of the run. */
  countryOf(hospital: string): string {
    return this.#countryOf.get(hospital) ?? '?';
  }

  /** The policies' verdict on a message. */
  check(facts: ChainedFacts): Verdict {
    return this.enforcer.check(facts);
  }

  /** Counts a message that crossed, for volume thresholds. */
  commit(facts: ChainedFacts): void {
    this.enforcer.commit(facts);
  }

  /**
   * Registers the model a strategy aggregated from `results`: if it is bit for bit one hospital's
   * parameters (cyclic, Krum) it is that hospital's; otherwise an aggregate, which counts as per-hospital
   * parameters below k contributors. Its sources are every split that trained any contribution.
   */
  aggregated(model: Float32Array, results: readonly Contribution[]): void {
    const provenances = results.map((r) => this.#replyProvenance(r));
    const same = results.findIndex((r) => equalVectors(r.reply.vectors.parameters, model));
    if (same >= 0) {
      this.#models.set(model, provenances[same]!);
      return;
    }
    this.#models.set(model, {
      classes: [modelClass(results.length, this.enforcer.consortium.minHospitals)],
      sources: unionAll(provenances.map((p) => p.sources)),
    });
  }

  /**
   * Registers a model securely aggregated from the masked updates of `hospitals`, each trained from `from`:
   * the coordinator never sees their parameters, but the sum still derives from their training patients.
   */
  aggregatedSecurely(model: Float32Array, from: Float32Array, hospitals: readonly string[]): void {
    const upstream = this.#models.get(from);
    const sources = new Set<Source>(upstream?.sources ?? []);
    for (const h of hospitals) sources.add(`${h}:train`);
    this.#models.set(model, {
      classes:
        hospitals.length === 0
          ? (upstream?.classes ?? ['setup'])
          : [modelClass(hospitals.length, this.enforcer.consortium.minHospitals)],
      sources: [...sources].sort(),
    });
  }

  /** The facts of a request: the classes and sources of the model it carries, or its kind's class. */
  requestFacts(kind: RequestKind, hospital: string, parameters: TypedVector | undefined): Facts {
    if (parameters === undefined) {
      // The federation's transform is computed from every hospital's column statistics (a minimum or a
      // maximum is one patient's value), so it carries them all.
      const sources: readonly Source[] =
        kind === 'transform-request' || kind === 'country-transform-request'
          ? (this.#everyTrainSplit ??= [...this.#countryOf.keys()].map((h) => `${h}:train` as const).sort())
          : [];
      return { direction: 'to-hospital', hospital, classes: [KINDS[kind].dataClass], sources };
    }
    const p = this.#models.get(parameters);
    if (p === undefined) {
      throw new Error(
        `jurisdiction: the coordinator sent ${kind} with a model it never registered (call aggregated() for each new model)`,
      );
    }
    if (KINDS[kind].reply === 'fit-reply') this.#sent.set(hospital, p);
    return { direction: 'to-hospital', hospital, classes: p.classes, sources: p.sources };
  }

  /** The facts of the reply a request of `kind` would bring, from what the coordinator asks for. */
  expectedReplyFacts(kind: ReplyKind, hospital: string): Facts {
    return {
      direction: 'to-coordinator',
      hospital,
      classes: expectedReplyClasses(kind, this.#asked),
      sources: replySources(kind, hospital),
    };
  }

  /** The facts of a reply of `kind` from its kind alone, before it is opened. */
  unopenedReplyFacts(kind: ReplyKind, hospital: string): Facts {
    return {
      direction: 'to-coordinator',
      hospital,
      classes: [KINDS[kind].dataClass],
      sources: replySources(kind, hospital),
    };
  }

  /** The facts of an admitted reply, from what it carries. */
  replyFacts(hospital: string, reply: AdmittedReply): Facts {
    const metrics = reply.fields.metrics;
    return {
      direction: 'to-coordinator',
      hospital,
      classes: replyClasses(reply.kind, {
        metrics: metrics !== null && typeof metrics === 'object' ? Object.keys(metrics) : [],
        histogram: reply.vectors.has('histogram'),
      }),
      sources: replySources(reply.kind, hospital),
    };
  }

  /** The facts of an error report: a category and a place, no patient's data. */
  errorFacts(hospital: string): Facts {
    return { direction: 'to-coordinator', hospital, classes: ['error-report'], sources: [] };
  }

  /** The facts of the records a pooling would take from `hospital`. */
  recordsFacts(hospital: string): Facts {
    return {
      direction: 'to-coordinator',
      hospital,
      classes: orderedClasses(this.#records),
      sources: replySources('pooled-records', hospital),
    };
  }

  /** Learns from an admitted reply: a hospital's holdings at setup, a fit reply's parameters as a model. */
  admitted(hospital: string, reply: AdmittedReply): void {
    if (reply.kind === 'setup-reply') {
      const { train, test } = reply.fields as { train: number; test: number };
      this.enforcer.hold(hospital, { train, test });
    }
    const parameters = reply.vectors.get('parameters');
    if (reply.kind === 'fit-reply' && parameters !== undefined) {
      const upstream = this.#sent.get(hospital)?.sources ?? [];
      this.#models.set(parameters, {
        classes: ['parameters-clear'],
        sources: withSource(upstream, `${hospital}:train`),
      });
    }
  }

  #replyProvenance(r: Contribution): Provenance {
    const v = r.reply.vectors.parameters;
    return (
      (v === undefined ? undefined : this.#models.get(v)) ?? {
        classes: ['parameters-clear'],
        sources: [`${r.hospital}:train`],
      }
    );
  }
}

/** True when the kind is a kind of the table whose messages a policy weighs (not tooling). */
export function isWeighed(kind: Kind): boolean {
  return KINDS[kind].purpose !== 'tooling';
}

function equalVectors(a: Float32Array | undefined, b: Float32Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}
