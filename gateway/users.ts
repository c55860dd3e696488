/**
 * The SMB user database: one JSON file (default `<data dir>/users.json`, mode 0600) mapping a user name
 * to its NT hash (MD4 of the UTF-16LE password, MS-NLMP NTOWFv1) and the uid/gid/groups its SMB sessions
 * act as in the core (DESIGN invariant 9). Plain passwords are never stored.
 *
 * Writes go to a temporary file in the same directory, fsynced, then renamed over the old one, so a crash
 * leaves either the old or the new database. The running gateway re-reads the file when its mtime/size
 * changes, so `gateway user add` takes effect without a restart.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync, unlinkSync, chmodSync } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { ntHash } from '../protocols/smb2/crypto/md4';
import type { SmbAccount, SmbUserDb } from '../protocols/smb2/users';

export const USERS_FILE_NAME = 'users.json';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const id32 = z.number().int().min(0).max(0xfffffffe);

const UserSchema = z.object({
  ntHash: z.string().regex(/^[0-9a-f]{32}$/),
  uid: id32,
  gid: id32,
  groups: z.array(id32).max(64).default([]),
});

const FileSchema = z.object({
  version: z.literal(1),
  users: z.record(z.string(), UserSchema),
});

type UserRecord = z.infer<typeof UserSchema>;
type UsersFile = z.infer<typeof FileSchema>;

export class UserDbError extends Error {}

export function checkUserName(name: string): void {
  if (!NAME_RE.test(name)) throw new UserDbError(`invalid user name ${JSON.stringify(name)}: 1-64 of [A-Za-z0-9._-], starting with a letter or digit`);
}

function readFile(file: string): UsersFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, users: {} };
    throw new UserDbError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserDbError(`${file} is not valid JSON: ${(e as Error).message}`);
  }
  const parsed = FileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UserDbError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

function writeFileAtomic(file: string, data: UsersFile): void {
  // `gateway user add --data DIR` may run before the first `gateway serve --data DIR` created DIR.
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(data, null, 2) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  // The rename is durable once the directory is synced.
  try {
    const dfd = openSync(path.dirname(file), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* some filesystems refuse fsync on directories */
  }
}

function findKey(users: Record<string, UserRecord>, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(users).find((k) => k.toLowerCase() === lower);
}

export interface AddUserOpts {
  password: string;
  uid?: number;
  gid?: number;
  groups?: number[];
}

/** Management operations behind `gateway user add|del|passwd|list`. */
export class UserStore {
  constructor(readonly file: string) {}

  list(): Array<{ name: string; uid: number; gid: number; groups: number[] }> {
    const f = readFile(this.file);
    return Object.entries(f.users).map(([name, u]) => ({ name, uid: u.uid, gid: u.gid, groups: u.groups }));
  }

  add(name: string, o: AddUserOpts): { uid: number; gid: number } {
    checkUserName(name);
    if (!o.password) throw new UserDbError('an empty password is not allowed');
    const f = readFile(this.file);
    if (findKey(f.users, name) !== undefined) throw new UserDbError(`user ${name} already exists`);
    const used = new Set(Object.values(f.users).map((u) => u.uid));
    let uid = o.uid;
    if (uid === undefined) {
      uid = 1000;
      while (used.has(uid)) uid++;
    }
    const rec: UserRecord = { ntHash: ntHash(o.password).toString('hex'), uid, gid: o.gid ?? uid, groups: o.groups ?? [] };
    UserSchema.parse(rec);
    f.users[name] = rec;
    writeFileAtomic(this.file, f);
    return { uid: rec.uid, gid: rec.gid };
  }

  del(name: string): void {
    const f = readFile(this.file);
    const k = findKey(f.users, name);
    if (k === undefined) throw new UserDbError(`no user ${name}`);
    delete f.users[k];
    writeFileAtomic(this.file, f);
  }

  passwd(name: string, password: string): void {
    if (!password) throw new UserDbError('an empty password is not allowed');
    const f = readFile(this.file);
    const k = findKey(f.users, name);
    if (k === undefined) throw new UserDbError(`no user ${name}`);
    f.users[k]!.ntHash = ntHash(password).toString('hex');
    writeFileAtomic(this.file, f);
  }
}

/**
 * The running gateway's view: looks a user up by name (case-insensitive, as Windows does), re-reading
 * the file when it changed. A file that became unreadable keeps the last good copy (and says so once).
 */
export class FileUserDb implements SmbUserDb {
  private cache: Map<string, SmbAccount> = new Map();
  private stamp = '';

  constructor(
    readonly file: string,
    private readonly onError: (msg: string) => void = () => undefined,
  ) {
    this.refresh();
  }

  private refresh(): void {
    let stamp: string;
    try {
      const st = statSync(this.file);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === this.stamp) return;
    try {
      const f = readFile(this.file);
      const m = new Map<string, SmbAccount>();
      for (const [name, u] of Object.entries(f.users)) {
        m.set(name.toLowerCase(), { name, ntHash: Buffer.from(u.ntHash, 'hex'), uid: u.uid, gid: u.gid, groups: u.groups });
      }
      this.cache = m;
      this.stamp = stamp;
    } catch (e) {
      this.onError((e as Error).message);
      this.stamp = stamp;
    }
  }

  lookup(name: string): SmbAccount | undefined {
    this.refresh();
    return this.cache.get(name.toLowerCase());
  }

  get size(): number {
    this.refresh();
    return this.cache.size;
  }
}
