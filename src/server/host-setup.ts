import type { BackdoorTrigger, HostJurisdiction, HostSetup, PooledSetup } from '../protocol/host-api.ts';
import { scenarioFaults } from '../scenario/fault-plan.ts';
import type { BackendChoice, HospitalConfig, Scenario } from '../scenario/schema.ts';

/**
 * What a worker is told to host `hospital`: configuration only, never records. Its thread learns that
 * hospital's own configuration and, when one generated pool is re-divided among all hospitals, what the
 * partitioner needs of the others — never their display names, files or record formats.
 */
export function hostSetup(
  scenario: Scenario,
  backend: BackendChoice,
  baseDir: string,
  hospital: string,
): HostSetup {
  const own = hospitalsById(scenario).get(hospital);
  if (own === undefined) throw new Error(`hospital ${hospital} is not in the scenario`);
  return {
    ...shared(scenario, backend, baseDir),
    hospital: own,
    ...(scenario.data.partition.kind === 'natural'
      ? {}
      : { peers: scenario.hospitals.map((h) => (h.id === hospital ? h : partitionView(h))) }),
    faults: scenarioFaults(scenario).filter((f) => f.hospital === undefined || f.hospital === hospital),
    ...(scenario.jurisdiction === undefined ? {} : { jurisdiction: ownJurisdiction(scenario, own) }),
    ...backdoorProbe(scenario),
    ...(scenario.privacy?.dpSgd === undefined ? {} : { dpSgd: scenario.privacy.dpSgd }),
  };
}

/** The scenario's backdoor trigger, which every hospital measures on the global model (none without one). */
function backdoorProbe(scenario: Scenario): { backdoorProbe?: BackdoorTrigger } {
  const trigger = scenario.faults.find((f) => f.behaviour === 'backdoor')?.trigger;
  return trigger === undefined ? {} : { backdoorProbe: trigger };
}

const byId = new WeakMap<Scenario, ReadonlyMap<string, HospitalConfig>>();

/** The scenario's hospitals by id, built once per scenario (setup asks per hospital). */
function hospitalsById(scenario: Scenario): ReadonlyMap<string, HospitalConfig> {
  let found = byId.get(scenario);
  if (found === undefined) {
    found = new Map(scenario.hospitals.map((h) => [h.id, h]));
    byId.set(scenario, found);
  }
  return found;
}

/**
 * What a hospital's worker needs to check its own replies: its country's policy (with, of the
 * critical-infrastructure operators, only itself) and the transfers out of its country.
 */
function ownJurisdiction(scenario: Scenario, own: HospitalConfig): HostJurisdiction {
  const config = scenario.jurisdiction!;
  const policy = config.countries[own.country];
  return {
    site: scenario.coordinator.site,
    config: {
      ...config,
      countries:
        policy === undefined
          ? {}
          : {
              [own.country]: {
                ...policy,
                criticalInfrastructure: policy.criticalInfrastructure.filter((h) => h === own.id),
              },
            },
      transfers: config.transfers.filter((t) => t.from === own.country),
    },
  };
}

/** What the pooled oracle is told: every hospital's configuration, since it builds them all. */
export function pooledSetup(scenario: Scenario, backend: BackendChoice, baseDir: string): PooledSetup {
  return { ...shared(scenario, backend, baseDir), hospitals: scenario.hospitals };
}

function shared(scenario: Scenario, backend: BackendChoice, baseDir: string) {
  return {
    seed: scenario.seed,
    data: scenario.data,
    model: scenario.model,
    evaluation: scenario.evaluation,
    backend,
    baseDir,
    ...(scenario.diagnostics.hospitalLogDir === undefined
      ? {}
      : { logDir: scenario.diagnostics.hospitalLogDir }),
    ...(scenario.hospitalData === 'release' ? { hospitalData: 'release' as const } : {}),
  };
}

/** Another hospital as a partitioner sees it: its id, country, size and population, nothing of its own. */
function partitionView(h: HospitalConfig): HospitalConfig {
  return {
    id: h.id,
    country: h.country,
    patients: h.patients,
    cohort: h.cohort,
    imaging: h.imaging,
    source: { kind: 'generate' },
  };
}
