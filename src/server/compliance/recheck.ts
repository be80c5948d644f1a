import { canonicalJson } from '../../common/hash.ts';
import type { ChainedFacts, Reliance, Source } from '../../protocol/jurisdiction/enforcer.ts';
import { isList, listOf, type Sources } from '../../protocol/jurisdiction/source-chain.ts';
import { KINDS, kindSpec, type Kind, type ReplyKind } from '../../protocol/kinds.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { JurisdictionGate } from '../jurisdiction/gate.ts';
import { Lineage, LineageError, LineageTable } from '../jurisdiction/lineage.ts';
import { refusalViolation, type Violation } from '../jurisdiction/violation.ts';
import { hospitalOf } from '../../protocol/jurisdiction/enforcer.ts';
import type { Crossing } from '../ledger.ts';
import { topologyHops } from '../topology/hops.ts';

/** A crossing whose recorded verdict differs from what the policies say of its recorded facts. */
export interface RecheckProblem {
  readonly line: number;
  readonly problem: string;
}

/**
 * Re-checks every crossing of a record against the scenario's policies, in order, as the coordinator did:
 * from each entry's recorded classes and sources (a model's lineage resolved from the line that defined it,
 * see {@link LineageTable}; a lineage costs what it adds to its base) and the holdings its setup replies recorded, the bases it
 * relied on and the rules it broke must be exactly those recorded; a request sent must not have asked for a
 * reply a policy forbids; a forbidden message must be recorded as not sent, discarded or refused.
 */
export function recheckPolicies(
  scenario: Scenario,
  crossings: readonly Crossing[],
): RecheckProblem | undefined {
  const gate = new JurisdictionGate(scenario, new Float32Array(0));
  const countryOf =
    topologyHops(scenario)?.countryOf ?? new Map(scenario.hospitals.map((h) => [h.id, h.country]));
  const lineages = new LineageTable();
  const originsOf = originsIn(countryOf);
  for (const [i, e] of crossings.entries()) {
    const line = i + 1;
    if (!countryOf.has(e.hospital)) return { line, problem: `hospital ${e.hospital} is not in the scenario` };
    if (e.direction === 'to-coordinator' && (e.lineage !== undefined || e.model !== undefined))
      return { line, problem: 'a reply records its own splits as sources, not as a lineage' };
    let sources: Sources;
    try {
      sources = lineages.read(e);
    } catch (error) {
      if (error instanceof LineageError) return { line, problem: error.problem };
      throw error;
    }
    const origins = originsOf(sources);
    if (origins.includes('?')) {
      const unknown = hospitalOf(listOf(sources).find((s) => !countryOf.has(hospitalOf(s)))!);
      return { line, problem: `its sources name hospital ${unknown}, which is not in the scenario` };
    }
    if (canonicalJson(origins) !== canonicalJson(e.origins)) {
      return { line, problem: 'its origins are not the countries of its sources' };
    }
    if (e.purpose === 'tooling') continue;
    if (e.holds !== undefined) gate.enforcer.hold(e.hospital, e.holds);
    if (!e.admitted && e.violations === undefined) continue;
    const facts: ChainedFacts = {
      direction: e.direction,
      hospital: e.hospital,
      classes: e.classes,
      sources,
    };
    const expected = judge(gate, e, facts);
    if (expected.problem !== undefined) return { line, problem: expected.problem };
    if (canonicalJson(expected.relied) !== canonicalJson(e.relied ?? [])) {
      return { line, problem: 'the bases it relied on are not those the policies give' };
    }
    if (canonicalJson(expected.violations) !== canonicalJson(e.violations ?? [])) {
      return { line, problem: 'the rules it broke are not those the policies give' };
    }
    if (expected.commit) gate.commit(facts);
  }
  return undefined;
}

/**
 * The countries of a crossing's sources, sorted ('?' for a hospital not in the scenario); a lineage many
 * crossings share is looked at once, and a lineage's countries are its base's and those of what it adds.
 */
function originsIn(countryOf: ReadonlyMap<string, string>): (sources: Sources) => readonly string[] {
  const memo = new WeakMap<object, readonly string[]>();
  const countries = (list: readonly string[], into = new Set<string>()) => {
    for (const s of list) into.add(countryOf.get(hospitalOf(s as Source)) ?? '?');
    return into;
  };
  return (sources) => {
    const known = memo.get(sources);
    if (known !== undefined) return known;
    if (isList(sources) || !(sources instanceof Lineage)) {
      const origins = [...countries(listOf(sources))].sort();
      memo.set(sources, origins);
      return origins;
    }
    const path: Lineage[] = [];
    let l: Lineage | undefined = sources;
    for (; l !== undefined && !memo.has(l); l = l.base) path.push(l);
    let origins = l === undefined ? [] : memo.get(l)!;
    for (let i = path.length - 1; i >= 0; i--) {
      origins = [...countries(path[i]!.adds, new Set(origins))].sort();
      memo.set(path[i]!, origins);
    }
    return origins;
  };
}

interface Expected {
  readonly relied: readonly Reliance[];
  readonly violations: readonly Violation[];
  readonly commit: boolean;
  readonly problem?: string;
}

function judge(gate: JurisdictionGate, e: Crossing, facts: ChainedFacts): Expected {
  const tag = (kind: Kind) => (b: Omit<Violation, 'kind'>) => ({ ...b, kind }) as Violation;
  const federation = e.purpose === 'federation';
  if (e.kind === 'pooled-records') {
    const v = gate.check(facts);
    return { relied: v.relied, violations: v.breaches.map(tag(e.kind)), commit: false };
  }
  if (e.kind === 'error') {
    const recorded = e.violations?.[0];
    if (recorded !== undefined && federation) {
      const replyKind = recorded.kind as ReplyKind;
      if (!(replyKind in KINDS) || KINDS[replyKind].direction !== 'to-coordinator') {
        return { relied: [], violations: [], commit: false, problem: 'its refusal names no reply kind' };
      }
      const asked = gate.expectedReplyFacts(replyKind, e.hospital);
      const violation = refusalViolation(
        recorded.rule,
        replyKind,
        asked,
        gate.check(asked).breaches,
        gate.countryOf(e.hospital),
      );
      return { relied: [], violations: [violation], commit: false };
    }
    const v = gate.check(facts);
    return { relied: v.relied, violations: v.breaches.map(tag('error')), commit: false };
  }
  const own = gate.check(facts);
  if (e.direction === 'to-hospital') {
    const violations = own.breaches.map(tag(e.kind));
    if (federation) {
      const replyKind = kindSpec(e.kind).reply as ReplyKind;
      violations.push(
        ...gate.check(gate.expectedReplyFacts(replyKind, e.hospital)).breaches.map(tag(replyKind)),
      );
    }
    if (e.sent === false) {
      return violations.length === 0
        ? { relied: [], violations, commit: false, problem: 'recorded as not sent, yet no policy forbids it' }
        : { relied: [], violations, commit: false };
    }
    if (federation && violations.length > 0) {
      return {
        relied: own.relied,
        violations,
        commit: true,
        problem: 'sent although a policy forbids it or its reply',
      };
    }
    return { relied: own.relied, violations, commit: true };
  }
  const violations = own.breaches.map(tag(e.kind));
  if (!e.admitted) {
    return violations.length === 0
      ? { relied: [], violations, commit: false, problem: 'recorded as discarded, yet no policy forbids it' }
      : { relied: [], violations, commit: false };
  }
  if (federation && violations.length > 0) {
    return { relied: own.relied, violations, commit: true, problem: 'admitted although a policy forbids it' };
  }
  return { relied: own.relied, violations, commit: true };
}
