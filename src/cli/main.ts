import { Command } from 'commander';
import { ConfigError } from '../config.js';
import { registerAffiliateCommands } from './affiliate-commands.js';
import { registerBackupCommands } from './backup-commands.js';
import { registerCatalogueCommands } from './catalogue-commands.js';
import { registerMediaCommands } from './media-commands.js';
import { registerDatabaseCommands } from './database-commands.js';
import { registerPrivacyCommands } from './privacy-commands.js';
import { registerStatsCommands } from './stats-commands.js';
import { registerOperatorCommands } from './operator-commands.js';
import { registerLabelCommands } from './label-commands.js';

/** `npx store ...`: the operator's commands. Each feature registers its own. */
const program = new Command()
  .name('store')
  .description('Operator commands for the music store. Settings come from the environment (see .env.example).')
  .showHelpAfterError();

registerDatabaseCommands(program);
registerBackupCommands(program);
registerCatalogueCommands(program);
registerMediaCommands(program);
registerAffiliateCommands(program);
registerPrivacyCommands(program);
registerStatsCommands(program);
registerOperatorCommands(program);
registerLabelCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `Error: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
