import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../src/server/checkpoint/checkpoint-error.ts';
import { CorruptCheckpoint, decodeStored, encodeStored } from '../../../src/server/checkpoint/codec.ts';
import {
  checkResumable,
  readCheckpoint,
  resumePoint,
  writeCheckpoint,
  type RunIdentity,
} from '../../../src/server/checkpoint/file.ts';
import type { RoundState } from '../../../src/server/checkpoint/run-state.ts';
import { entryHash } from '../../../src/server/ledger.ts';
import { JurisdictionGate } from '../../../src/server/jurisdiction/gate.ts';
import { loadScenario } from '../../../src/scenario/load.ts';
import type { Source } from '../../../src/protocol/jurisdiction/enforcer.ts';
import { FedAdagrad } from '../../../src/server/strategies/fedadagrad.ts';
import { FedAdam } from '../../../src/server/strategies/fedadam.ts';
import { FedAvg } from '../../../src/server/strategies/fedavg.ts';
import { FedAvgM } from '../../../src/server/strategies/fedavgm.ts';
import { FedYogi } from '../../../src/server/strategies/fedyogi.ts';
import { Scaffold } from '../../../src/server/strategies/scaffold.ts';
import type { FitResult, Strategy } from '../../../src/server/strategies/strategy.ts';
import { base } from '../strategies/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'fedmed-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const reply = (hospital: string, y: number[], n: number): FitResult => ({
  hospital,
  reply: {
    vectors: { parameters: new Float32Array(y), control: new Float32Array(y.map((v) => v / 10)) },
    numExamples: n,
    metrics: {},
  },
});
const rounds = [
  [reply('a', [1.4, 0.6, -2], 1), reply('b', [1.8, 1, 0.25], 3)],
  [reply('a', [0.9, 0.7, 1], 1), reply('c', [1.1, 1.3, -0.5], 2)],
  [reply('b', [0.2, -0.7, 3], 3), reply('c', [2.1, 0.3, 0.5], 2)],
];
const bits = (v: Float32Array) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));

describe('strategy state: checkpointState() / restoreState()', () => {
  const make: Record<string, () => Strategy> = {
    fedadam: () => new FedAdam({ ...base, eta: 0.1 }),
    fedyogi: () => new FedYogi({ ...base, eta: 0.1 }),
    fedadagrad: () => new FedAdagrad({ ...base, eta: 0.1 }),
    fedavgm: () => new FedAvgM({ ...base, serverMomentum: 0.9 }),
    'scaffold (examples)': () => new Scaffold({ ...base, serverLearningRate: 1, hospitals: 3 }),
    'scaffold (uniform)': () =>
      new Scaffold({ ...base, serverLearningRate: 0.5, weighting: 'uniform', hospitals: 3 }),
  };
  for (const [name, create] of Object.entries(make)) {
    it(`${name}: a fresh instance restored after round 1, through the checkpoint's encoding, goes on bit for bit`, () => {
      const whole = create();
      const resumed = create();
      let g: Float32Array = new Float32Array([1, 1, 0]);
      let h = g;
      g = whole.aggregateFit(1, g, rounds[0]!, []);
      const first = create();
      first.broadcastVectors?.(1, h);
      h = first.aggregateFit(1, h, rounds[0]!, []);
      const saved = decodeStored(encodeStored({ s: first.checkpointState!() as never })) as { s: never };
      resumed.restoreState!(saved.s);
      for (const [i, r] of rounds.slice(1).entries()) {
        const a = whole.broadcastVectors?.(i + 2, g).control;
        const b = resumed.broadcastVectors?.(i + 2, h).control;
        if (a !== undefined) expect(bits(b!)).toEqual(bits(a));
        g = whole.aggregateFit(i + 2, g, r, []);
        h = resumed.aggregateFit(i + 2, h, r, []);
        expect(bits(h)).toEqual(bits(g));
      }
    });
  }

  it('a strategy that keeps no state saves {} and refuses state it does not have', () => {
    const s = new FedAvg(base);
    expect(s.checkpointState()).toEqual({});
    expect(() => s.restoreState({ m: 1 })).toThrow(/keeps no state between rounds/);
    expect(() => new FedAdam(base).restoreState({ m: 'x', v: null })).toThrow(/lacks its m vector/);
  });
});

describe('the checkpoint file', () => {
  const identity: RunIdentity = { scenarioSha256: 'a'.repeat(64), seed: 7, backend: 'js', baseDir: dir };
  // A hash chain: each line links to the one before it, the first to the genesis.
  const crossings: { seq: number; round: number; kind: string; prev: string }[] = [];
  for (const seq of [1, 2, 3])
    crossings.push({
      seq,
      round: seq > 1 ? 1 : 0,
      kind: 'fit-request',
      prev: seq === 1 ? 'g'.repeat(64) : entryHash(crossings[seq - 2]),
    });
  const state: RoundState = {
    round: 1,
    model: new Float32Array([0.5, -1, 3e-8]),
    strategy: { m: new Float64Array([1, 2, 3]), v: null },
    clientStates: [['kr-a', new Uint8Array([1, 2, 3])]],
    ledger: { entries: 3, genesis: 'g'.repeat(64), head: entryHash(crossings[2]) },
    clockSeconds: 12.5,
  };

  function folder(name: string): string {
    const f = join(dir, name);
    rmSync(f, { recursive: true, force: true });
    mkdirSync(f);
    writeFileSync(join(f, 'metrics.jsonl'), JSON.stringify({ round: 1 }) + '\n');
    writeFileSync(join(f, 'crossings.jsonl'), crossings.map((c) => JSON.stringify(c)).join('\n') + '\n');
    writeCheckpoint(f, state, identity);
    return f;
  }

  it('reads back what was written; a torn last line and a round after the checkpoint are cut on resume', () => {
    const f = folder('torn');
    const cp = readCheckpoint(f);
    expect(cp.state.model).toEqual(state.model);
    expect(cp.state.strategy).toEqual(state.strategy);
    expect(cp.state.clientStates).toEqual(state.clientStates);
    appendFileSync(join(f, 'metrics.jsonl'), JSON.stringify({ round: 2 }) + '\n{"round": 3, "fi');
    appendFileSync(join(f, 'crossings.jsonl'), '{"seq":4,"rou');
    const point = resumePoint(f, cp);
    expect(point.final).toEqual({ round: 1 });
    expect(point.crossings).toHaveLength(3);
    expect(readFileSync(join(f, 'metrics.jsonl'), 'utf8')).toBe('{"round":1}\n');
    expect(readFileSync(join(f, 'crossings.jsonl'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('crossings that do not chain line to line, or rounds edited in place, are refused before anything is cut', () => {
    const f = folder('forged');
    const cp = readCheckpoint(f);
    const forged = [crossings[0], { ...crossings[1]!, kind: 'fit-reqvest' }, crossings[2]];
    writeFileSync(join(f, 'crossings.jsonl'), forged.map((c) => JSON.stringify(c)).join('\n') + '\n');
    expect(() => resumePoint(f, cp)).toThrow(/line 3 does not chain to the line before it/);
    writeFileSync(join(f, 'crossings.jsonl'), crossings.map((c) => JSON.stringify(c)).join('\n') + '\n');
    writeFileSync(join(f, 'metrics.jsonl'), '{"round":2}\n');
    expect(() => resumePoint(f, cp)).toThrow(/its rounds differ from those the checkpoint recorded/);
  });

  it('a flipped byte, a truncated file or another file is a CheckpointError; records shorter than it say, too', () => {
    const f = folder('corrupt');
    const good = readFileSync(join(f, 'checkpoint.bin'));
    const flipped = Buffer.from(good);
    flipped[40]! ^= 1;
    expect(() => decodeStored(flipped)).toThrow(CorruptCheckpoint);
    writeFileSync(join(f, 'checkpoint.bin'), flipped);
    expect(() => readCheckpoint(f)).toThrow(/corrupt checkpoint: its checksum does not match/);
    writeFileSync(join(f, 'checkpoint.bin'), good.subarray(0, good.length - 1));
    expect(() => readCheckpoint(f)).toThrow(CheckpointError);
    writeFileSync(join(f, 'checkpoint.bin'), '{"not": "a checkpoint"}');
    expect(() => readCheckpoint(f)).toThrow(/not a fedmed checkpoint/);
    writeFileSync(join(f, 'checkpoint.bin'), good);
    writeFileSync(join(f, 'crossings.jsonl'), JSON.stringify(crossings[0]) + '\n');
    expect(() => resumePoint(f, readCheckpoint(f))).toThrow(/shorter than the \d+ the checkpoint recorded/);
  });

  it("keeps the jurisdiction layer's lists as blobs; a torn draft leaves the last checkpoint whole; a forged list or an old format is refused, named", () => {
    const f = folder('jurisdiction');
    const sources = Array.from({ length: 500 }, (_, i) => `cn-${String(i).padStart(4, '0')}:train` as const);
    const withJurisdiction: RoundState = {
      ...state,
      jurisdiction: {
        model: { classes: ['aggregate-model'], sources },
        exported: { 'CN|coordinator|CN-CBDF-SENSITIVE-10000': sources.slice(0, 7), 'KR|kr-a|X': [] },
      },
    };
    writeCheckpoint(f, withJurisdiction, identity);
    const path = join(f, 'checkpoint.bin');
    const good = readFileSync(path);
    expect(readCheckpoint(f).state.jurisdiction).toEqual(withJurisdiction.jurisdiction);
    // No JSON array of the lineage in the header: one text blob.
    expect(good.includes(Buffer.from('"cn-0001:train"'))).toBe(false);
    expect(good.includes(Buffer.from('cn-0000:train\ncn-0001:train'))).toBe(true);

    // Killed while the next checkpoint was being written: its draft is torn, the last checkpoint stands.
    writeCheckpoint(f, { ...withJurisdiction, round: 2 }, identity);
    const next = readFileSync(path);
    writeFileSync(path, good);
    writeFileSync(`${path}.draft`, next.subarray(0, next.length >> 1));
    expect(readCheckpoint(f).state.round).toBe(1);
    writeCheckpoint(f, { ...withJurisdiction, round: 2 }, identity);
    expect(readCheckpoint(f).state.round).toBe(2);

    // Cut inside the lineage's blob, or one of its lines forged under a recomputed checksum.
    const at = good.indexOf(Buffer.from('cn-0250:train'));
    writeFileSync(path, good.subarray(0, at));
    expect(() => readCheckpoint(f)).toThrow(/corrupt checkpoint: its checksum does not match/);
    const forge = (change: (j: Record<string, unknown>, o: Record<string, unknown>) => void) => {
      const o = decodeStored(good) as Record<string, unknown>;
      change((o.state as Record<string, unknown>).jurisdiction as Record<string, unknown>, o);
      writeFileSync(path, encodeStored(o as never));
    };
    forge((j) => (j.sources = new TextEncoder().encode('cn-0000:train\ncn-0001:everything')));
    expect(() => readCheckpoint(f)).toThrow(
      /corrupt checkpoint: state.jurisdiction.sources holds a line that is not a source/,
    );
    forge((j) => (j.exported = { 'CN|coordinator|X': 'cn-0000:train' }));
    expect(() => readCheckpoint(f)).toThrow(
      /state.jurisdiction.exported.CN\|coordinator\|X is not a list of sources/,
    );
    forge((_j, o) => (o.format = 2));
    expect(() => readCheckpoint(f)).toThrow(
      /checkpoint format 2, written by an earlier fedmed; this fedmed reads format 3 only, so the run cannot be resumed/,
    );
  });

  it('a resumed enforcer counts exports on from the checkpoint, with the holdings its setup learns again', () => {
    const scenario = loadScenario('scenarios/korea-china.json');
    const china = scenario.hospitals.filter((h) => h.country === 'CN').map((h) => h.id);
    const gate = () => {
      const g = new JurisdictionGate(scenario, new Float32Array(0));
      for (const h of scenario.hospitals) g.enforcer.hold(h.id, { train: 1500, test: 1500 });
      return g;
    };
    const carrying = (split: 'train' | 'test') => ({
      direction: 'to-hospital' as const,
      hospital: 'kr-seoul-1',
      classes: ['parameters-clear' as const],
      sources: china.map((h) => `${h}:${split}` as Source).sort(),
    });
    const ran = gate();
    ran.commit(carrying('train'));
    const f = folder('exported');
    writeCheckpoint(
      f,
      {
        ...state,
        jurisdiction: { model: { classes: ['setup'], sources: [] }, exported: ran.enforcer.exported() },
      },
      identity,
    );
    const resumed = gate();
    resumed.enforcer.restoreExported(readCheckpoint(f).state.jurisdiction!.exported);
    // 7,500 people exported, 7,500 more: over CBDF's 10,000 only when the first are counted.
    const rules = (g: JurisdictionGate) => g.check(carrying('test')).breaches.map((b) => b.rule);
    expect(rules(ran)).toContain('CN-CBDF-SENSITIVE-10000');
    expect(rules(resumed)).toEqual(rules(ran));
    expect(rules(gate())).not.toContain('CN-CBDF-SENSITIVE-10000');
  });

  it('resumes only with the same seed, backend and scenario', () => {
    const cp = readCheckpoint(folder('identity'));
    expect(() => checkResumable(cp, identity, 'out')).not.toThrow();
    expect(() => checkResumable(cp, { ...identity, seed: 8 }, 'out')).toThrow(/seed 8, the run's 7/);
    expect(() => checkResumable(cp, { ...identity, backend: 'wasm' }, 'out')).toThrow(/backend wasm/);
    expect(() => checkResumable(cp, { ...identity, scenarioSha256: 'b'.repeat(64) }, 'out')).toThrow(
      /SHA-256/,
    );
  });
});
