/** The tsbpf command's subcommands, in the order `tsbpf --help` lists them. */
import type { CommandSpec } from './args.js';
import { disasmCommand } from './disasm_command.js';
import { featuresCommand } from './features_command.js';
import { mapDumpCommand } from './map_dump_command.js';
import { mapListCommand } from './map_list_command.js';
import { mapShowCommand } from './map_show_command.js';
import { objInspectCommand } from './obj_inspect_command.js';
import { progListCommand } from './prog_list_command.js';
import { progShowCommand } from './prog_show_command.js';
import { progTestCommand } from './prog_test_command.js';

export const COMMANDS: readonly CommandSpec[] = [
  featuresCommand,
  objInspectCommand,
  disasmCommand,
  progListCommand,
  progShowCommand,
  progTestCommand,
  mapListCommand,
  mapShowCommand,
  mapDumpCommand,
];
