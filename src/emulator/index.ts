// rbac-normalizer/emulator: the local vendor emulator (Zoom, Vonage and Tuya on one loopback port),
// for tests and demos without a vendor account. Imports nothing from the adapters.
export { type Dataset, identitiesYaml, seededDataset, snapshotDataset } from './dataset.js';
export {
  EMULATOR_CREDENTIALS,
  type Emulator,
  type EmulatorCredentials,
  type EmulatorOptions,
  type EmulatorStats,
  type Faults,
  startEmulator,
} from './server.js';
