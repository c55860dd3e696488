/** The command table, in MS-SMB2 2.2.1.2 order. */
import type { Smb2CommandSpec } from './command';
import { CLOSE } from './commands/close';
import { CREATE } from './commands/create';
import { ECHO } from './commands/echo';
import { FLUSH } from './commands/flush';
import { IOCTL } from './commands/ioctl';
import { LOGOFF } from './commands/logoff';
import { NEGOTIATE } from './commands/negotiate';
import { QUERY_DIRECTORY } from './commands/query-directory';
import { QUERY_INFO } from './commands/query-info';
import { READ } from './commands/read';
import { SESSION_SETUP } from './commands/session-setup';
import { SET_INFO } from './commands/set-info';
import { TREE_CONNECT, TREE_DISCONNECT } from './commands/tree-connect';
import { OPLOCK_BREAK } from './commands/oplock-break';
import { CHANGE_NOTIFY } from './commands/change-notify';
import { LOCK } from './commands/lock';
import { WRITE } from './commands/write';

export const COMMANDS: ReadonlyMap<number, Smb2CommandSpec<any>> = new Map(
  [NEGOTIATE, SESSION_SETUP, LOGOFF, TREE_CONNECT, TREE_DISCONNECT, CREATE, CLOSE, FLUSH, READ, WRITE, LOCK, IOCTL, ECHO, QUERY_DIRECTORY, CHANGE_NOTIFY, QUERY_INFO, SET_INFO, OPLOCK_BREAK].map(
    (c) => [c.command as number, c],
  ),
);
