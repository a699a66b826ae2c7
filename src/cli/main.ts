// The `cairn` executable. Today it only reports its version: the node roles (start, init) and
// the client commands arrive with the store and SQL layers.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('cairn')
    .description('Cairn: a distributed SQL database (Raft-replicated, PostgreSQL wire protocol)')
    .version(packageVersion(), '-v, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  program
    .command('version')
    .description('print the version and the Node.js runtime')
    .action(() => {
      process.stdout.write(`cairn ${packageVersion()} (node ${process.versions.node})\n`);
    });
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
}
