import fs from 'node:fs';
import { Writable } from 'node:stream';
import readline from 'node:readline/promises';
import type { Command } from 'commander';
import { addOperator, listOperators, normaliseOperatorEmail, unlockOperator } from '../admin/access/operators.js';
import { generatePassword, passwordProblem } from '../admin/access/passwords.js';
import { toDbTime } from '../db/dialect.js';
import { withDatabase } from './context.js';

/** Reads a line from the terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: string | Uint8Array, encoding: BufferEncoding, callback: () => void) {
      if (!muted) process.stdout.write(chunk, encoding);
      callback();
    },
  });
  const rl = readline.createInterface({ input: process.stdin, output, terminal: true });
  try {
    const answer = rl.question(question);
    muted = true;
    return await answer;
  } finally {
    muted = false;
    rl.close();
    process.stdout.write('\n');
  }
}

/**
 * The password for a new operator: from --password-file (first line), typed twice at a terminal,
 * or, with neither (a script, a pipe), generated and printed once.
 */
async function choosePassword(passwordFile: string | undefined): Promise<{ password: string; generated: boolean }> {
  if (passwordFile) return { password: fs.readFileSync(passwordFile, 'utf8').split(/\r?\n/)[0] ?? '', generated: false };
  if (!process.stdin.isTTY) return { password: generatePassword(), generated: true };
  const password = await promptHidden('Password (at least 12 characters; leave empty to generate one): ');
  if (password === '') return { password: generatePassword(), generated: true };
  const problem = passwordProblem(password);
  if (problem) throw new Error(problem);
  if ((await promptHidden('The same password again: ')) !== password) throw new Error('the two passwords differ');
  return { password, generated: false };
}

export function registerOperatorCommands(program: Command): void {
  const operator = program.command('operator').description('Operators of the admin area (/admin/sign-in): add, list, unlock.');

  operator
    .command('add')
    .description('Add an operator. The password is read from --password-file, typed at a prompt, or generated and printed.')
    .requiredOption('--email <email>', 'where their sign-in codes go')
    .option('--password-file <file>', 'a file whose first line is the password')
    .action(async (options: { email: string; passwordFile?: string }) => {
      const email = normaliseOperatorEmail(options.email);
      if (!email) throw new Error('--email must be an email address');
      const { password, generated } = await choosePassword(options.passwordFile);
      await withDatabase(async ({ database }) => {
        const id = await addOperator(database.db, { email, password }, new Date());
        console.log(`Added operator ${id}: ${email}. They sign in at /admin/sign-in with the password and a code sent to that email.`);
        if (generated) console.log(`Password (shown only now): ${password}`);
      });
    });

  operator
    .command('list')
    .description('Every operator, with failed tries, lock and last sign-in.')
    .action(async () => {
      await withDatabase(async ({ database }) => {
        const rows = await listOperators(database.db);
        if (rows.length === 0) return console.log('No operators yet: add one with `npx store operator add --email ...`.');
        const now = toDbTime(new Date());
        for (const o of rows) {
          const lock = o.locked_until && o.locked_until > now ? `locked until ${o.locked_until} UTC` : 'not locked';
          console.log(
            `${o.id}\t${o.email}\t${o.active === 1 ? 'active' : 'inactive'}\t${lock}\t${o.failed_attempts} failed\tlast sign-in ${o.last_sign_in_at ?? 'never'}`,
          );
        }
      });
    });

  operator
    .command('unlock')
    .description('Lift a lockout after too many failed sign-ins, and reset the count.')
    .requiredOption('--email <email>', 'the operator')
    .action(async (options: { email: string }) => {
      const email = normaliseOperatorEmail(options.email);
      if (!email) throw new Error('--email must be an email address');
      await withDatabase(async ({ database }) => {
        if (!(await unlockOperator(database.db, email, new Date()))) throw new Error(`there is no operator ${email}`);
        console.log(`Operator ${email} is unlocked.`);
      });
    });
}
