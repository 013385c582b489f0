import type { Command } from 'commander';
import { migrateToLatest } from '../db/database.js';
import { withDatabase } from './context.js';

export function registerDatabaseCommands(program: Command): void {
  program
    .command('migrate')
    .description('Bring the database schema up to date (the store also does this at start-up).')
    .action(async () => {
      await withDatabase(
        async ({ database }) => {
          const applied = await migrateToLatest(database.db);
          console.log(applied.length ? `Applied: ${applied.join(', ')}` : 'The database schema is already up to date.');
        },
        { migrate: false },
      );
    });
}
