/**
 * PyTorch measured in the same run as fedmed: a long-lived `/usr/bin/python3 bench/pytorch_rates.py` that
 * trains the same models, shapes and batches on one thread (`torch.set_num_threads(1)`), one request at a
 * time, so its trials interleave with fedmed's.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Debian's python, where python3-torch installs (a pyenv python3 earlier on PATH cannot import it). */
const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./pytorch_rates.py', import.meta.url));

/** What `npm run bench` prints when PyTorch cannot be imported. */
export const INSTALL_HINT =
  'PyTorch is not importable from /usr/bin/python3, so the PyTorch column is empty. On Debian or Ubuntu: ' +
  '`apt-get install -y python3-torch`, then run `npm run bench` again.';

/**
 * The environment without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE: some machines set them to dodge bugs of old
 * OpenBLAS builds, and they slow a current one. PyTorch gets its best here.
 */
function torchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['OPENBLAS_CORETYPE'];
  delete env['OPENBLAS_L2_SIZE'];
  return env;
}

/** A model as the PyTorch script builds it. */
export type TorchModel =
  | { readonly kind: 'logistic' }
  | { readonly kind: 'mlp'; readonly hidden: readonly number[] }
  | { readonly kind: 'cnn'; readonly filters: readonly number[]; readonly dense: number };

/** One measurement request: model, example shape, examples per epoch, batch, and seconds to train at least. */
export interface TorchRequest {
  readonly model: TorchModel;
  readonly shape: readonly number[];
  readonly n: number;
  readonly batch: number;
  readonly seconds: number;
}

/** A running PyTorch measurer. */
export class TorchBench {
  readonly version: string;
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  readonly #reader: Interface;

  private constructor(version: string) {
    this.version = version;
    this.#child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], env: torchEnv() });
    this.#child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    this.#reader = createInterface({ input: this.#child.stdout });
    this.#lines = this.#reader[Symbol.asyncIterator]();
  }

  /** Starts the measurer, or returns null (after printing how to install it) when torch cannot be imported. */
  static start(): TorchBench | null {
    const probe = spawnSync(PYTHON, ['-c', 'import torch; print(torch.__version__)'], {
      encoding: 'utf8',
      env: torchEnv(),
    });
    if (probe.status !== 0) {
      console.log(INSTALL_HINT);
      return null;
    }
    return new TorchBench(probe.stdout.trim());
  }

  /** PyTorch's training samples/s for one request. */
  async rate(request: TorchRequest): Promise<number> {
    this.#child.stdin.write(`${JSON.stringify(request)}\n`);
    const next = await this.#lines.next();
    if (next.done === true) throw new Error('the PyTorch bench process ended early');
    const reply = JSON.parse(next.value) as { samplesPerSecond: number };
    return reply.samplesPerSecond;
  }

  /** Ends the python process. */
  close(): void {
    this.#reader.close();
    this.#child.stdin.end();
  }
}
