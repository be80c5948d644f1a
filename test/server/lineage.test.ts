import { beforeAll, describe, expect, it } from 'vitest';
import type { Source } from '../../src/protocol/jurisdiction/enforcer.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { Scenario } from '../../src/scenario/schema.ts';
import { checkChain } from '../../src/server/compliance/chain.ts';
import { recheckPolicies } from '../../src/server/compliance/recheck.ts';
import { complianceReport } from '../../src/server/compliance/report.ts';
import { runFederation, type RunResult } from '../../src/server/coordinator.ts';
import { expandSources, LineageTable } from '../../src/server/jurisdiction/lineage.ts';
import { unionAll, withSource } from '../../src/server/jurisdiction/sorted-sources.ts';
import { stream } from '../../src/common/rng.ts';
import { entryHash, type Crossing } from '../../src/server/ledger.ts';
import { forgedLineageRecord, KOREA_CHINA_POLICIES } from '../helpers/forged-lineage.ts';

/** 40 clinics, 10% sampled per round, 8 rounds of logistic regression; China's aggregates count as personal. */
function manyRounds(): Scenario {
  return parseScenario({
    name: 'lineage-many-rounds',
    seed: 3,
    rounds: 8,
    minClients: 1,
    backend: 'js',
    coordinator: { site: 'KR' },
    data: { kind: 'synthetic-cohort', testFraction: 0.3 },
    hospitalData: 'release',
    hospitals: Array.from({ length: 40 }, (_, i) => ({
      id: `${i % 2 === 0 ? 'kr' : 'cn'}-clinic-${String(i).padStart(2, '0')}`,
      country: i % 2 === 0 ? 'KR' : 'CN',
      patients: 30 + ((i * 37) % 50),
    })),
    model: { kind: 'logistic' },
    training: { localEpochs: 1, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' },
    strategy: { name: 'fedavg', fractionFit: 0.1, fractionEvaluate: 0.1 },
    jurisdiction: KOREA_CHINA_POLICIES,
  });
}

/** `n` clinics alternating Korea and China under the same policies, for records made without a run. */
function clinics(n: number): Scenario {
  const base = manyRounds();
  return parseScenario({
    ...JSON.parse(JSON.stringify(base)),
    hospitals: Array.from({ length: n }, (_, i) => ({
      id: `${i % 2 === 0 ? 'kr' : 'cn'}-clinic-${String(i).padStart(4, '0')}`,
      country: i % 2 === 0 ? 'KR' : 'CN',
      patients: 30,
    })),
  });
}

/** The record as it was before lineages were recorded by reference: every message's sources inline. */
function expanded(crossings: readonly Crossing[]): Crossing[] {
  const sources = expandSources(crossings);
  return crossings.map((c, i) => {
    const { lineage: _l, model: _m, ...rest } = c;
    return { ...rest, ...(sources[i]!.length === 0 ? {} : { sources: sources[i] }) };
  });
}

const lineOf = (c: Crossing) => JSON.stringify(c);

describe('a model lineage recorded by reference', () => {
  const scenario = manyRounds();
  const perRound: Crossing[][] = [];
  const crossings: Crossing[] = [];
  let result: RunResult;
  beforeAll(async () => {
    result = await runFederation(scenario, {
      threads: 2,
      backend: 'js',
      baseDir: process.cwd(),
      timeoutMs: 120_000,
      sink: {
        round: (_r, cs) => {
          perRound.push([...cs]);
          crossings.push(...cs);
        },
        crossings: (cs) => crossings.push(...cs),
      },
    });
  }, 120_000);

  it('grows the record linearly: each split is written once, later messages name the line', () => {
    expect(result.status).toBe('completed');
    expect(perRound).toHaveLength(8);
    const bytes = (cs: readonly Crossing[]) => cs.reduce((s, c) => s + lineOf(c).length + 1, 0);
    const [first, last] = [bytes(perRound[0]!), bytes(perRound.at(-1)!)];
    expect(last).toBeLessThan(1.15 * first);
    // The same record with every lineage inline grows with the rounds.
    const full = expanded(crossings);
    const bySeq = new Map(full.map((c) => [c.seq, c]));
    const fullRounds = perRound.map((r) => r.map((c) => bySeq.get(c.seq)!));
    expect(bytes(fullRounds.at(-1)!)).toBeGreaterThan(1.3 * bytes(fullRounds[0]!));

    const definitions = crossings.filter((c) => c.lineage !== undefined);
    const lineages = expandSources(crossings);
    const latest = lineages[crossings.indexOf(definitions.at(-1)!)]!;
    // Flat FedAvg's lineage only grows, so each definition adds to the one before and every split is written once.
    expect(definitions.reduce((s, c) => s + c.lineage!.adds.length, 0)).toBe(latest.length);
    expect(latest.length).toBeGreaterThan(10);
    const requests = crossings.filter((c) => c.direction === 'to-hospital' && c.round > 1);
    expect(requests.every((c) => c.sources === undefined && (c.model ?? c.lineage) !== undefined)).toBe(true);
    expect(requests.some((c) => c.relied?.some((r) => r.origin === 'CN' && r.rule === 'CN-PIPL-38'))).toBe(
      true,
    );
  });

  it('gives the compliance report and the recheck exactly the answers of the lineage written out', () => {
    const full = expanded(crossings);
    expect(complianceReport(scenario, crossings)).toEqual(complianceReport(scenario, full));
    expect(recheckPolicies(scenario, crossings)).toBeUndefined();
    expect(recheckPolicies(scenario, full)).toBeUndefined();
    // A basis struck from a message carrying the model: both readings name the same line and problem.
    const target = crossings.find((c) => c.model !== undefined && (c.relied ?? []).length > 0)!;
    const strike = (cs: readonly Crossing[]) =>
      cs.map((c) => (c.seq === target.seq ? { ...c, relied: [] } : c));
    const problem = recheckPolicies(scenario, strike(crossings));
    expect(problem).toEqual({
      line: target.seq,
      problem: 'the bases it relied on are not those the policies give',
    });
    expect(recheckPolicies(scenario, strike(full))).toEqual(problem);
  });

  it('catches a forged or missing lineage line, naming it', () => {
    const lines = crossings.map(lineOf);
    const chain = result.ledger;
    expect(checkChain(lines, chain)).toBeUndefined();
    const definition = crossings.find((c) => c.lineage?.base !== undefined)!;
    const user = crossings.find((c) => c.model === definition.seq)!;

    // Forged: a split dropped from the lineage. The chain names the line.
    const forged = {
      ...definition,
      lineage: { ...definition.lineage!, adds: definition.lineage!.adds.slice(1) },
    };
    const forgedLines = lines.map((l, i) => (i === definition.seq - 1 ? lineOf(forged) : l));
    expect(checkChain(forgedLines, chain)).toEqual({
      line: definition.seq,
      problem: `changed: its hash is not what line ${definition.seq + 1} links to`,
    });

    // Missing: the defining line deleted and the chain rewritten around it. The first line that names it is caught.
    const rest = crossings.filter((c) => c.seq !== definition.seq);
    let prev = chain.genesis;
    const rewritten = rest.map((c) => {
      const e = { ...c, prev };
      prev = entryHash(e);
      return e;
    });
    // Named by its line in the file, one above its seq now that a line before it is gone.
    expect(recheckPolicies(scenario, rewritten)).toEqual({
      line: user.seq - 1,
      problem: `its model names line ${definition.seq}, which defines no lineage before it`,
    });
    // A source naming a hospital the scenario does not have is named, not a crash.
    const stranger = crossings.map((c) =>
      c.seq === definition.seq
        ? { ...c, lineage: { ...c.lineage!, adds: [...c.lineage!.adds, 'zz-x:train' as Source] } }
        : c,
    );
    expect(recheckPolicies(scenario, stranger)).toEqual({
      line: definition.seq,
      problem: 'its sources name hospital zz-x, which is not in the scenario',
    });
    // A reference to a line after it, or to a line that defines none.
    const early = crossings.map((c) => (c.seq === user.seq ? { ...c, model: user.seq + 1 } : c));
    expect(recheckPolicies(scenario, early)?.line).toBe(user.seq);
    const repeated = crossings.map((c) =>
      c.seq === definition.seq
        ? { ...c, lineage: { ...c.lineage!, adds: [c.lineage!.adds[0]!, ...c.lineage!.adds] } }
        : c,
    );
    expect(recheckPolicies(scenario, repeated)).toEqual({
      line: definition.seq,
      problem: "its lineage's splits are not sorted and distinct (split 2)",
    });
  });
});

describe('LineageTable', () => {
  const lineages: Source[][] = [
    ['a:train', 'c:train'],
    ['a:train', 'b:train', 'c:train'],
    ['b:train', 'c:test'],
    ['a:train', 'b:train', 'c:train', 'd:train'],
    ['a:train', 'b:train', 'c:test', 'd:train'],
  ];
  const sequence = [0, 0, 1, 2, 1, 3, 2, 4, 3].map((i) => [...lineages[i]!]);
  const write = (table: LineageTable, from: number) =>
    sequence.slice(from).map((s, i) => ({ seq: from + i + 1, ...table.write(from + i + 1, s) }));

  it('writes each lineage once, against the largest recent lineage it contains, and reads back what was written', () => {
    const written = write(new LineageTable(), 0);
    expect(written.map(({ seq: _seq, ...f }) => f)).toEqual([
      { lineage: { adds: ['a:train', 'c:train'] } },
      { model: 1 },
      { lineage: { base: 1, adds: ['b:train'] } },
      { lineage: { adds: ['b:train', 'c:test'] } },
      { model: 3 },
      { lineage: { base: 3, adds: ['d:train'] } },
      { model: 4 },
      { lineage: { base: 4, adds: ['a:train', 'd:train'] } },
      { model: 6 },
    ]);
    expect(expandSources(written)).toEqual(sequence);
  });

  it('continues a record it was rebuilt from exactly as the table that wrote it', () => {
    const whole = write(new LineageTable(), 0);
    const resumed = write(LineageTable.fromRecord(whole.slice(0, 4)), 4);
    expect(resumed).toEqual(whole.slice(4));
  });
});

describe('sorted source lists', () => {
  it('insert and union as a Set and a sort would, keeping a list that already holds the result', () => {
    const rng = stream(11, 'test', 'sorted-sources');
    const names = ['a', 'a-1', 'a:x', 'b', 'cn-clinic-01', 'cn-clinic-1', 'kr-a', 'kr-a-b', 'z'];
    const list = (): Source[] =>
      [
        ...new Set(
          Array.from(
            { length: rng.int(8) },
            () => `${names[rng.int(names.length)]!}:${rng.int(2) === 0 ? 'train' : 'test'}` as Source,
          ),
        ),
      ].sort();
    for (let i = 0; i < 200; i++) {
      const lists = Array.from({ length: 1 + rng.int(4) }, list);
      expect(unionAll(lists)).toEqual([...new Set(lists.flat())].sort());
      const s = `${names[rng.int(names.length)]!}:train` as Source;
      expect(withSource(lists[0]!, s)).toEqual([...new Set([...lists[0]!, s])].sort());
    }
    const held = ['a:train', 'b:train'] as Source[];
    expect(withSource(held, 'a:train')).toBe(held);
    expect(unionAll([['a:train'], held])).toBe(held);
  });
});

describe('a lineage that grows one split at a time (a forged record)', () => {
  const scenario = clinics(200);

  it('is read in work linear in the record: each split hashed once, a few trie nodes per definition', () => {
    const work = (n: number) => {
      const table = LineageTable.fromRecord(forgedLineageRecord(scenario, n));
      return table.work;
    };
    const [small, large] = [work(100), work(400)];
    expect(small.hashed).toBe(100);
    expect(large.hashed).toBe(400);
    // Quadratic work would be 16× for 4× the lines; a hash trie's depth adds a little per doubling.
    expect(large.nodes).toBeLessThan(5 * small.nodes);
    expect(large.nodes).toBeLessThan(6 * 400);
  });

  it('gets the answers of the lineage written out, the volume threshold included', () => {
    // 100 patients a split: China's exports pass CBDF's 10,000 people within the record, which no basis covers.
    const holds = { train: 100, test: 100 };
    const asLists = forgedLineageRecord(scenario, 300, { asLists: true, holds });
    const shared = forgedLineageRecord(scenario, 300, { holds });
    expect(shared).toEqual(asLists);
    const stopped = asLists.filter((c) => c.sent === false);
    expect(stopped.length).toBeGreaterThan(10);
    expect(stopped[0]!.violations!.map((v) => v.rule)).toContain('CN-CBDF-SENSITIVE-10000');
    expect(asLists.some((c) => c.relied?.some((r) => r.rule === 'CN-PIPL-38'))).toBe(true);
    expect(recheckPolicies(scenario, asLists)).toBeUndefined();
    const full = expanded(asLists);
    expect(full.at(-1)!.sources).toHaveLength(300);
    expect(recheckPolicies(scenario, full)).toBeUndefined();
    expect(complianceReport(scenario, asLists)).toEqual(complianceReport(scenario, full));
  });

  it('names a lie at its line, allocating nothing for it: an unknown, far or later base, a split already held', () => {
    const record = forgedLineageRecord(scenario, 60);
    const at = record.findIndex((c) => c.lineage?.base !== undefined) + 20;
    const seq = record[at]!.seq;
    const lie = (lineage: unknown) =>
      recheckPolicies(
        scenario,
        record.map((c, i) => (i === at ? ({ ...c, lineage } as Crossing) : c)),
      );
    const none = (line: unknown) => ({
      line: seq,
      problem: `its lineage base names line ${String(line)}, which defines no lineage before it`,
    });
    // A setup reply, far back, defines none; nor does the line itself, a later one, or no line at all.
    expect(lie({ base: 3, adds: ['cn-clinic-0199:train'] })).toEqual(none(3));
    expect(lie({ base: seq, adds: ['cn-clinic-0199:train'] })).toEqual(none(seq));
    expect(lie({ base: seq + 1, adds: ['cn-clinic-0199:train'] })).toEqual(none(seq + 1));
    expect(lie({ base: 1e300, adds: ['cn-clinic-0199:train'] })).toEqual(none(1e300));
    expect(lie({ base: 'x', adds: [] })).toEqual(none('x'));
    const held = record[at - 5]!.lineage!.adds[0]!;
    expect(lie({ base: seq - 1, adds: [held] })).toEqual({
      line: seq,
      problem: 'its lineage adds a split its base already holds',
    });
    // A reply records its own splits inline.
    const reply = record.map((c, i) => (i === 0 ? ({ ...c, model: 1 } as Crossing) : c));
    expect(recheckPolicies(scenario, reply)).toEqual({
      line: 1,
      problem: 'a reply records its own splits as sources, not as a lineage',
    });
  });
});
