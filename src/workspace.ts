// The one way a command or the authorizer loads what a config names: the mappings and the
// identities (the policy comes through a PolicyStore). The identities file is optional only when
// neither the caller nor the config names one.
import type { Config } from './config.js';
import { type Identities, loadIdentities } from './identities.js';
import { loadMappings, type MappingSet } from './mapping/load.js';

export interface Workspace {
  readonly mappings: MappingSet;
  readonly identities: Identities;
}

/**
 * Loads the mappings and identities of `config` (or the paths given instead), at once.
 *
 * @throws ConfigError, MappingError or IdentitiesError naming the file.
 */
export async function loadWorkspace(
  config: Pick<Config, 'mappings' | 'identities' | 'identitiesRequired'>,
  override: { readonly mappings?: string | undefined; readonly identities?: string | undefined } = {},
): Promise<Workspace> {
  const [mappings, identities] = await Promise.all([
    loadMappings(override.mappings ?? config.mappings),
    loadIdentities(override.identities ?? config.identities, {
      optional: override.identities === undefined && !config.identitiesRequired,
    }),
  ]);
  return { mappings, identities };
}

/** The identities alone, by the same rule. */
export function loadWorkspaceIdentities(
  config: Pick<Config, 'identities' | 'identitiesRequired'>,
): Promise<Identities> {
  return loadIdentities(config.identities, { optional: !config.identitiesRequired });
}
