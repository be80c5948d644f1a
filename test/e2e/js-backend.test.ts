import { describe, expect, it } from 'vitest';
import { sha256 } from '../../src/common/hash.ts';
import { runInMemory, smallScenario } from '../helpers/run.ts';

describe("backend 'js' through real workers", () => {
  it('completes, records js, gives the same model with 1 and 2 threads and the loss of wasm', async () => {
    const js = smallScenario({ backend: 'js' });
    const one = await runInMemory(js, { threads: 1 });
    const two = await runInMemory(js, { threads: 2 });
    const wasm = await runInMemory(smallScenario({ backend: 'wasm' }), { threads: 2 });
    for (const run of [one, two]) {
      expect(run.result.status).toBe('completed');
      expect(run.result.roundsCompleted).toBe(js.rounds);
      expect(run.result.backend).toBe('js');
      expect(run.result.threads.every((t) => t.backend === 'js')).toBe(true);
      expect(run.result.threads.every((t) => t.tfjs === 'unused')).toBe(true);
    }
    expect(two.result.threads).toHaveLength(2);
    expect(sha256(two.result.parameters)).toBe(sha256(one.result.parameters));
    expect(JSON.stringify(two.rounds.map((r) => r.evaluate))).toBe(
      JSON.stringify(one.rounds.map((r) => r.evaluate)),
    );
    expect(wasm.result.backend).toBe('wasm');
    expect(wasm.result.threads[0]!.tfjs).toMatch(/^\d+\.\d+\.\d+$/);
    const jsLoss = one.result.final!.evaluate.metrics.loss!;
    const wasmLoss = wasm.result.final!.evaluate.metrics.loss!;
    expect(Number.isFinite(jsLoss)).toBe(true);
    // Measured: 0.58426819785 (js) against 0.58426819769 (wasm), 3e-10 apart relatively; the models differ in
    // float32 rounding only.
    expect(Math.abs(jsLoss - wasmLoss) / wasmLoss).toBeLessThan(1e-4);
  });

  it('trains a cnn in the workers: records js, the same model with 1 and 2 threads, and learns', async () => {
    const cnn = smallScenario({
      backend: 'js',
      data: { kind: 'synthetic-imaging', size: 16, testFraction: 0.3 },
      model: { kind: 'cnn', filters: [4], kernelSize: 3, dense: 8 },
      training: { localEpochs: 1, batchSize: 16, learningRate: 0.01, optimizer: 'adam' },
    });
    const one = await runInMemory(cnn, { threads: 1 });
    const two = await runInMemory(cnn, { threads: 2 });
    for (const run of [one, two]) {
      expect(run.result.status).toBe('completed');
      expect(run.result.backend).toBe('js');
      expect(run.result.threads.every((t) => t.tfjs === 'unused')).toBe(true);
    }
    expect(sha256(two.result.parameters)).toBe(sha256(one.result.parameters));
    const loss = one.rounds.map((r) => r.evaluate.metrics.loss!);
    expect(loss[loss.length - 1]!).toBeLessThan(loss[0]!);
  });

  it('runs js-f32: records it, the same model with 1 and 2 threads, other last bits than js', async () => {
    const f32 = smallScenario({ backend: 'js-f32' });
    const one = await runInMemory(f32, { threads: 1 });
    const two = await runInMemory(f32, { threads: 2 });
    for (const run of [one, two]) {
      expect(run.result.status).toBe('completed');
      expect(run.result.backend).toBe('js-f32');
      expect(run.result.threads.every((t) => t.tfjs === 'unused')).toBe(true);
    }
    expect(sha256(two.result.parameters)).toBe(sha256(one.result.parameters));
  });
});
