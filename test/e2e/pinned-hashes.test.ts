import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { applyOverrides, loadScenario } from '../../src/scenario/load.ts';
import type { BackendChoice } from '../../src/scenario/schema.ts';
import { runFederation } from '../../src/server/coordinator.ts';
import { WorkerPool } from '../../src/server/worker-pool.ts';

/**
 * Final-model SHA-256 of shipped scenarios, per backend, as computed when they were pinned (`fedmed run
 * <scenario> --backend <b> [--rounds 2] --baselines ''`, whose manifest gives the same hash). A bug that
 * changes results deterministically cannot pass by agreeing with itself. A deliberate change of numerics
 * updates these, in its own commit saying why.
 */
const PINNED: Record<string, { rounds?: number; hashes: Partial<Record<BackendChoice, string>> }> = {
  quickstart: {
    hashes: {
      js: '5c7a7e9edb75c7f69fdf46b95ba47adb30f3368e6159e4bb4a991a5b10acc490',
      'js-f32': 'ab8a12efadba04b9dc10d3454210018ffb764ea913250b134726f213592bed8c',
    },
  },
  'quickstart (2 rounds)': {
    rounds: 2,
    hashes: {
      wasm: 'd0b534298c322e1eac550e5126f61adaa172be6ed24e3e40ec2f4e4edc978bf0',
      cpu: '6da87c18ff0340b2ff70946f6e4c48cb104aaa059a4fe85d7fd13b4479c0da1a',
    },
  },
  'korea-china': {
    hashes: {
      js: '0026bc0cf6fa21731f8450a57f68925c7da9c22b88ed4df26440c4d01de0df6b',
      'js-f32': 'b883341b1770363909f45994f6c6d81519827b8865224f0a7115b6f643df0da4',
    },
  },
  'korea-china (2 rounds)': {
    rounds: 2,
    hashes: {
      wasm: 'e437bbb85b4bad9fe8fe91ac77f0acef61b187f772b9c4859a5596e4002906b0',
      cpu: '8fe24cbe45312596600aa3bd7d621d2430d8025fbc93f6a3c91a5869fe639776',
    },
  },
  flagship: {
    hashes: {
      js: 'ba38a3cd8418be31f488aa4114f55d951ed229c59a6931fbac7fb06379410028',
      'js-f32': 'e368b106a58319a73dadfad6237baac025e21885772c55fb7cb0f48fd199844d',
    },
  },
  'flagship (2 rounds)': {
    rounds: 2,
    hashes: {
      wasm: '339d9b98144052df2538ff0a432697bdd38150cf7c7160dad5a9a7eacf1d3c6b',
      cpu: '39d809af9904fb25dfed963816c732b42967ba373210bedf9a8655acb0c2efce',
    },
  },
  'non-iid': {
    hashes: {
      js: '191a7cc202f754234a0b3638db49df90af1f52d41574f433112906711ad63176',
      'js-f32': '7d8c94830bf6464970429916743815781feed1f92e72adb74e2fc2d5f1aabb60',
    },
  },
  'non-iid (2 rounds)': {
    rounds: 2,
    hashes: {
      wasm: '173995bb015e6e373eb83fdcb27fd6ba6c4120cbf45e195b82c23612626d2900',
      cpu: '409ddd22fc6975d8276e23005c1385e7aa6cce986db986b6c7b292913017a26b',
    },
  },
};

/**
 * Where each pinned scenario lives: a shipped one under scenarios/, or a former version kept as a fixture (the
 * flagship before it was redesigned to show what joining buys each country is pinned as `korea-china`).
 */
const FILES: Record<string, string> = {
  quickstart: '../../scenarios/quickstart.json',
  'korea-china': '../fixtures/korea-china-v1.json',
  flagship: '../../scenarios/korea-china.json',
  'non-iid': '../../scenarios/non-iid.json',
};

describe.each(Object.keys(FILES))('%s gives its pinned final model', (name) => {
  it('on every backend, in threads started once', async () => {
    const file = resolve(import.meta.dirname, FILES[name]!);
    const base = loadScenario(file);
    const pool = await WorkerPool.start(
      base.hospitals.map((h) => h.id),
      2,
      { timeoutMs: 300_000 },
    );
    try {
      for (const [label, pin] of Object.entries(PINNED).filter(([k]) => k.split(' ')[0] === name)) {
        for (const [backend, hash] of Object.entries(pin.hashes)) {
          const scenario = applyOverrides(base, {
            backend: backend as BackendChoice,
            baselines: [],
            ...(pin.rounds === undefined ? {} : { rounds: pin.rounds }),
          });
          const result = await runFederation(scenario, {
            threads: 2,
            backend: scenario.backend,
            baseDir: dirname(file),
            timeoutMs: 300_000,
            pool,
            sink: { round: () => undefined, crossings: () => undefined },
          });
          expect(result.backend, label).toBe(backend);
          expect(sha256(result.parameters), `${label} on ${backend}`).toBe(hash);
        }
      }
    } finally {
      await pool.close();
    }
  });
});
