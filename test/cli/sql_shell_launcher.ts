// Runs `cairn sql` the way src/cli/main.ts will once it registers the command (main.ts is not this
// test's to change): a commander program with only `sql`, the same handling of usage errors
// (exit 2, one line, no stack trace) and of failures (exit 1).
//
//   npx tsx test/cli/sql_shell_launcher.ts sql --insecure --host 127.0.0.1:5432 -e 'select 1'
import { Command, CommanderError } from 'commander';
import { UsageError } from '../../src/cli/flags.js';
import { registerSqlCommand } from '../../src/cli/sql_shell.js';

async function launch(argv: readonly string[]): Promise<number> {
  const program = new Command('cairn').showHelpAfterError().exitOverride();
  registerSqlCommand(program);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\nsee: cairn --help\n`);
      return 2;
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

process.exitCode = await launch(process.argv.slice(2));
