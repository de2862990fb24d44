/**
 * The `raftkv` command (bin/raftkv.js runs this file through tsx):
 *
 *   raftkv serve [flags]   one member of a cluster (runner/serve.ts)
 *   raftkv local [flags]   a cluster of N members on this machine (runner/local.ts)
 *
 * Every flag can also be given as an environment variable (RAFTKV_<FLAG>); `--help` on
 * each command lists them. See docs/raftkv.md.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from './runner/flags.ts';
import { localCommand } from './runner/local.ts';
import { serveCommand } from './runner/serve.ts';

/** Help is the text of `raftkv --help`. */
export const Help = `Usage: raftkv <command> [flags]

raftkv is a key-value store with etcd's v3 API (etcdctl and etcd clients work with it),
replicated with raft.

Commands:
  serve   run one member of a cluster (raftkv serve --help)
  local   run a cluster of N members on this machine, one process each (raftkv local --help)

Every flag can also be set with an environment variable: --client-addr is
RAFTKV_CLIENT_ADDR. npm start runs raftkv local.
`;

/**
 * main runs the command in argv (the arguments after the program) and resolves with the
 * exit status: 0, 1 when the command failed, 2 for a mistake on the command line.
 */
export async function main(argv: readonly string[], env = process.env): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serveCommand(rest, env);
      case 'local':
        return await localCommand(rest, env);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(Help);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const help =
      command === 'serve' || command === 'local' ? `raftkv ${command} --help` : 'raftkv --help';
    process.stderr.write(`raftkv: ${err.message}\n(see ${help})\n`);
    return 2;
  }
}

// Run when this file is the program (node --import tsx src/kv/cli.ts ...), not when imported.
// The process exits once the command is done, whatever handles a library left open.
if (
  process.argv[1] !== undefined &&
  import.meta.url === pathToFileURL(resolve(process.argv[1])).href
) {
  process.exit(await main(process.argv.slice(2)));
}
