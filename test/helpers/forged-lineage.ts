import { canonicalJson } from '../../src/common/hash.ts';
import { hospitalOf, type Source } from '../../src/protocol/jurisdiction/enforcer.ts';
import type { SourceChain } from '../../src/protocol/jurisdiction/source-chain.ts';
import { KINDS } from '../../src/protocol/kinds.ts';
import { scenarioHash } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/schema.ts';
import { JurisdictionGate } from '../../src/server/jurisdiction/gate.ts';
import { entryHash, type Crossing } from '../../src/server/ledger.ts';

/** Korea/China policies under which China's aggregates count as personal: every forged line is weighed by them. */
export const KOREA_CHINA_POLICIES = {
  countries: {
    KR: { preset: 'korea', bases: [{ basis: 'entrusted-processing' }] },
    CN: {
      preset: 'china',
      aggregatesArePersonalData: true,
      bases: [{ basis: 'separate-consent', share: 1 }, { basis: 'entrusted-processing' }],
    },
  },
  transfers: [{ from: 'CN', to: 'KR', bases: [{ basis: 'cac-standard-contract' }] }],
};

/**
 * A record that grows one model lineage a split at a time, the case that made reading lineages quadratic: a
 * setup reply per hospital (holding `holds` patients in each split), then `lines` evaluation requests, each
 * carrying a model whose lineage adds one new split to the one before (`{"base": seq - 1, "adds": [split]}`),
 * sent to hospitals of alternating countries. Every line is chained and carries the bases and violations the
 * scenario's policies give, so a check reads it to the end. With `asLists` the policies are asked with every
 * line's whole lineage as a plain list (quadratic, for small records: the answer a list gives), else with a
 * chain that shares each lineage's base.
 */
export function forgedLineageRecord(
  scenario: Scenario,
  lines: number,
  options: { readonly asLists?: boolean; readonly holds?: { train: number; test: number } } = {},
): Crossing[] {
  const hospitals = scenario.hospitals;
  const splits: Source[] = hospitals.flatMap((h) => [`${h.id}:test` as Source, `${h.id}:train` as Source]);
  if (lines > splits.length) throw new RangeError(`at most ${splits.length} lines: one new split each`);
  const countryOf = new Map(hospitals.map((h) => [h.id, h.country]));
  const byCountry = [...new Set(countryOf.values())]
    .sort()
    .map((c) => hospitals.filter((h) => h.country === c));
  const gate = new JurisdictionGate(scenario, new Float32Array(0));
  const holds = options.holds ?? { train: 1, test: 1 };
  const entries: Crossing[] = [];
  let prev = scenarioHash(scenario);
  const push = (draft: Omit<Crossing, 'seq' | 'prev'>) => {
    const entry = JSON.parse(canonicalJson({ seq: entries.length + 1, prev, ...draft })) as Crossing;
    prev = entryHash(entry);
    entries.push(entry);
    return entry;
  };
  const border = (country: string) =>
    scenario.coordinator.site === 'neutral' || scenario.coordinator.site !== country;
  for (const h of hospitals) {
    gate.enforcer.hold(h.id, holds);
    push({
      round: 0,
      hospital: h.id,
      country: h.country,
      direction: 'to-coordinator',
      kind: 'setup-reply',
      purpose: 'federation',
      classes: [KINDS['setup-reply'].dataClass],
      origins: [],
      bytes: 100,
      sha256: '0'.repeat(64),
      crossesBorder: border(h.country),
      admitted: true,
      holds,
    });
  }
  let chain: SourceChain | undefined;
  let list: Source[] = [];
  const origins = new Set<string>();
  for (let i = 0; i < lines; i++) {
    const split = splits[i]!;
    chain = { base: chain, adds: [split] };
    if (options.asLists === true) list = [...list, split].sort();
    origins.add(countryOf.get(hospitalOf(split))!);
    const inCountry = byCountry[i % byCountry.length]!;
    const to = inCountry[Math.floor(i / byCountry.length) % inCountry.length]!;
    const facts = {
      direction: 'to-hospital' as const,
      hospital: to.id,
      classes: ['aggregate-model' as const],
      sources: options.asLists === true ? list : chain,
    };
    const own = gate.check(facts);
    const reply = gate.check(gate.expectedReplyFacts('evaluate-reply', to.id));
    const violations = [
      ...own.breaches.map((b) => ({ ...b, kind: 'evaluate-request' as const })),
      ...reply.breaches.map((b) => ({ ...b, kind: 'evaluate-reply' as const })),
    ];
    const seq = entries.length + 1;
    push({
      round: 1,
      hospital: to.id,
      country: to.country,
      direction: 'to-hospital',
      kind: 'evaluate-request',
      purpose: 'federation',
      classes: facts.classes,
      origins: [...origins].sort(),
      lineage: i === 0 ? { adds: [split] } : { base: seq - 1, adds: [split] },
      bytes: 200,
      crossesBorder: border(to.country),
      admitted: true,
      ...(violations.length > 0
        ? { sent: false as const, violations }
        : own.relied.length > 0
          ? { relied: own.relied }
          : {}),
    });
    if (violations.length === 0) gate.commit(facts);
  }
  return entries;
}
