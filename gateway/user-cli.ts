/**
 * `gateway user add|del|passwd|list NAME` — manages the SMB user database non-interactively (scripts rely
 * on `gateway user add NAME --password P --data DIR` before `gateway serve --data DIR`). The database is
 * `<DIR>/users.json` for the embedded default, or the file given with --users.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { USERS_FILE_NAME, UserDbError, UserStore } from './users';

interface UserArgs {
  action: string;
  name?: string;
  data?: string;
  users?: string;
  password?: string;
  'password-stdin'?: boolean;
  uid?: number;
  gid?: number;
  groups?: number[];
}

export function usersFileFor(opts: { data?: string; users?: string }): string {
  if (opts.users) return path.resolve(opts.users);
  if (opts.data) return path.join(path.resolve(opts.data), USERS_FILE_NAME);
  throw new UserDbError('pass --data DIR (the directory `gateway serve --data` uses) or --users FILE');
}

function password(a: UserArgs): string {
  if (a['password-stdin']) {
    const line = readFileSync(0, 'utf8').split(/\r?\n/)[0] ?? '';
    return line;
  }
  if (a.password === undefined) throw new UserDbError('pass --password P (or --password-stdin)');
  return String(a.password);
}

function runUser(a: UserArgs): void {
  const store = new UserStore(usersFileFor(a));
  const need = (): string => {
    if (!a.name) throw new UserDbError(`user ${a.action} needs a NAME`);
    return a.name;
  };
  switch (a.action) {
    case 'add': {
      const r = store.add(need(), { password: password(a), uid: a.uid, gid: a.gid, groups: a.groups });
      process.stdout.write(`added user ${a.name} (uid ${r.uid}, gid ${r.gid}) to ${store.file}\n`);
      return;
    }
    case 'del':
      store.del(need());
      process.stdout.write(`deleted user ${a.name}\n`);
      return;
    case 'passwd':
      store.passwd(need(), password(a));
      process.stdout.write(`changed the password of ${a.name}\n`);
      return;
    case 'list':
      for (const u of store.list()) process.stdout.write(`${u.name}\tuid=${u.uid}\tgid=${u.gid}\tgroups=${u.groups.join(',')}\n`);
      return;
    default:
      throw new UserDbError(`unknown action ${a.action}: add, del, passwd or list`);
  }
}

export const userCommand: CommandModule<object, UserArgs> = {
  command: 'user <action> [name]',
  describe: 'manage SMB users (add, del, passwd, list); NT hashes only, never plain passwords',
  builder: (y: Argv) =>
    y
      .positional('action', { choices: ['add', 'del', 'passwd', 'list'] as const, describe: 'what to do' })
      .positional('name', { type: 'string', describe: 'user name' })
      .option('data', { type: 'string', describe: 'data directory of the embedded default (users file is DIR/users.json)' })
      .option('users', { type: 'string', describe: 'users file (instead of --data)' })
      .option('password', { type: 'string', describe: 'the password (add, passwd)' })
      .option('password-stdin', { type: 'boolean', describe: 'read the password from the first line of stdin' })
      .option('uid', { type: 'number', describe: 'uid the user acts as (default: first free from 1000)' })
      .option('gid', { type: 'number', describe: 'gid (default: the uid)' })
      .option('groups', { type: 'number', array: true, describe: 'supplementary gids' }) as unknown as Argv<UserArgs>,
  handler: (a) => {
    try {
      runUser(a);
    } catch (e) {
      if (e instanceof UserDbError) {
        process.stderr.write(`gateway: ${e.message}\n`);
        process.exit(2);
      }
      throw e;
    }
  },
};
