import type { HostSetup } from '../protocol/host-api.ts';
import type { BackendChoice, Scenario } from '../scenario/schema.ts';

/** The setup message for a worker thread hosting `hosted` (configuration only, never records). */
export function hostSetup(
  scenario: Scenario,
  backend: BackendChoice,
  baseDir: string,
  hosted: readonly string[],
): HostSetup {
  return {
    seed: scenario.seed,
    data: scenario.data,
    model: scenario.model,
    evaluation: scenario.evaluation,
    backend,
    hospitals: scenario.hospitals,
    hosted,
    faults: scenario.faults.filter((f) => hosted.includes(f.hospital)),
    baseDir,
  };
}
