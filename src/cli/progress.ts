import cliProgress from 'cli-progress';
import type { RoundRecord } from '../server/coordinator.ts';

/** Reports rounds as they finish: a live bar on a terminal, one line per round otherwise. */
export interface Progress {
  round(record: RoundRecord): void;
  stop(): void;
}

const fmt = (v: number | undefined): string => (v === undefined ? '  -  ' : v.toFixed(3));

/** A progress display on stderr, or nothing when `quiet`. */
export function createProgress(totalRounds: number, quiet: boolean): Progress {
  if (quiet) return { round: () => undefined, stop: () => undefined };
  if (!process.stderr.isTTY) {
    return {
      round: (r) => {
        const m = r.evaluate.metrics;
        process.stderr.write(
          `round ${r.round}/${totalRounds}  loss ${fmt(m.loss)}  accuracy ${fmt(m.accuracy)}  auroc ${fmt(m.auroc)}` +
            `  (${r.fit.admitted.length}/${r.fit.sampled.length} hospitals)\n`,
        );
      },
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format:
        'round {value}/{total} {bar} loss {loss}  accuracy {accuracy}  auroc {auroc}  hospitals {hospitals}  ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(totalRounds, 0, {
    loss: fmt(undefined),
    accuracy: fmt(undefined),
    auroc: fmt(undefined),
    hospitals: '-',
  });
  return {
    round: (r) => {
      const m = r.evaluate.metrics;
      bar.update(r.round, {
        loss: fmt(m.loss),
        accuracy: fmt(m.accuracy),
        auroc: fmt(m.auroc),
        hospitals: `${r.fit.admitted.length}/${r.fit.sampled.length}`,
      });
    },
    stop: () => bar.stop(),
  };
}
