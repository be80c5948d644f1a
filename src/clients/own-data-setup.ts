import type { TypedVector } from '../protocol/envelope.ts';
import type { TRANSFORM_VECTORS } from '../common/column-stats.ts';
import { statisticsVectors, type ColumnTransform } from '../common/column-stats.ts';
import { scalingOf, usesFederatedStatistics, type OwnDataConfig } from '../protocol/own-data-layout.ts';
import type { HospitalConfig } from '../scenario/schema.ts';
import type { LocalData } from './data/index.ts';
import {
  localTransform,
  ownStatistics,
  pooledOwnData,
  readOwnData,
  transformed,
  type OwnData,
} from './data/own-data.ts';
import { HospitalRefusal } from './error-reports.ts';

/**
 * A hospital's own table or image folder inside its worker, between setup and training: read and split at
 * setup (so bad input stops the run before anything is trained or sent), then scaled either at once (local
 * or no scaling) or once the coordinator's transform arrives (federated statistics). Only counts and column
 * summaries leave it, never a row.
 */
export class OwnDataSetup {
  readonly #own: OwnData;
  readonly #data: OwnDataConfig;

  private constructor(own: OwnData, data: OwnDataConfig) {
    this.#own = own;
    this.#data = data;
  }

  /** Reads the hospital's files as the scenario declares them (confined to the data root `baseDir`). */
  static read(h: HospitalConfig, data: OwnDataConfig, seed: number, baseDir: string): OwnDataSetup {
    return new OwnDataSetup(readOwnData(h, data, seed, baseDir), data);
  }

  /** Every hospital's data for the pooled oracle (see {@link pooledOwnData}). */
  static pooled(
    hospitals: readonly HospitalConfig[],
    data: OwnDataConfig,
    seed: number,
    baseDir: string,
  ): Map<string, LocalData> {
    return pooledOwnData(hospitals, data, seed, baseDir);
  }

  /**
   * A site's files for scoring a finished model, every row held out, scaled as the run scaled its hospitals:
   * by the run's federated transform (`vectors`), or by the site's own statistics, or not at all.
   */
  static scoring(
    h: HospitalConfig,
    data: OwnDataConfig,
    baseDir: string,
    vectors: ReadonlyMap<string, TypedVector>,
  ): LocalData {
    const setup = new OwnDataSetup(readOwnData(h, data, 0, baseDir, true), data);
    return setup.localData() ?? setup.withTransform(vectors);
  }

  /** Training and held-out examples. */
  counts(): { train: number; test: number } {
    return { train: this.#own.train.n, test: this.#own.test.n };
  }

  /** A table's missing cells per declared feature, then the rows dropped; absent for images. */
  missingCounts(): Uint32Array | undefined {
    if (this.#data.kind !== 'tabular') return undefined;
    return Uint32Array.from([...this.#own.missing, this.#own.dropped]);
  }

  /** The data ready for training when no federated statistics are needed; else undefined (await the transform). */
  localData(): LocalData | undefined {
    if (usesFederatedStatistics(this.#data)) return undefined;
    return transformed(this.#own, localTransform(this.#own, this.#data));
  }

  /** The training split's column summaries as float64 vectors (extremes of an empty column sent as 0). */
  statistics(): [string, TypedVector][] {
    const s = ownStatistics(this.#own);
    const finite = (v: Float64Array) => v.map((x, j) => (s.count[j]! > 0 ? x : 0));
    return statisticsVectors(scalingOf(this.#data)).map((name) => {
      const v = s[name as keyof typeof s];
      return [name, name === 'min' || name === 'max' ? finite(v) : v];
    });
  }

  /** The data under the coordinator's transform; refuses vectors of the wrong type or length, or a zero scale. */
  withTransform(vectors: ReadonlyMap<string, TypedVector>): LocalData {
    const width = this.#own.width;
    const get = (name: (typeof TRANSFORM_VECTORS)[number]): Float64Array => {
      const v = vectors.get(name);
      if (!(v instanceof Float64Array) || v.length !== width || !v.every(Number.isFinite))
        throw new HospitalRefusal('refused', name);
      return v;
    };
    const t: ColumnTransform = { centre: get('centre'), scale: get('scale'), fill: get('fill') };
    if (t.scale.some((x) => x === 0)) throw new HospitalRefusal('refused', 'scale');
    return transformed(this.#own, t);
  }
}
