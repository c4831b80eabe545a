// What every command file gets from the CLI's entry point: where to print, how to set the exit
// code, and the shared --config option.
import type { Option } from 'commander';

export interface CommandContext {
  readonly io: { out(text: string): void; err(text: string): void };
  setExit(code: number): void;
  configOption(): Option;
}
