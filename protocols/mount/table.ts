/** MOUNT procedures in spec order. Version 1 serves the same set except MNT (its fhandle is NFSv2's). */
import type { AnyMountProcedure } from './procedure';
import { DUMP } from './procs/dump';
import { EXPORT } from './procs/export';
import { MNT } from './procs/mnt';
import { NULL } from './procs/null';
import { UMNT } from './procs/umnt';
import { UMNTALL } from './procs/umntall';

export const MOUNT3_PROCEDURES: readonly AnyMountProcedure[] = [NULL, MNT, DUMP, UMNT, UMNTALL, EXPORT];
export const MOUNT1_PROCEDURES: readonly AnyMountProcedure[] = [NULL, DUMP, UMNT, UMNTALL, EXPORT];
