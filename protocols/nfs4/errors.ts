/**
 * A protocol-level NFSv4 failure raised inside an operation (bad stateid, no current filehandle, session
 * rules…). Core failures stay `CoreError` and are mapped through status.ts; both end the COMPOUND at the
 * failing operation (compound.ts). `body` carries the few failure results that are not void (LOCK4denied…).
 */
import { nfsstat4 } from './types';

export class Nfs4Error extends Error {
  constructor(
    public readonly status: Exclude<nfsstat4, nfsstat4.NFS4_OK>,
    public readonly detail?: string,
    public readonly body?: unknown,
  ) {
    super(detail ? `${nfsstat4[status]}: ${detail}` : nfsstat4[status]);
    this.name = 'Nfs4Error';
  }
}

export function nfs4Fail(status: Exclude<nfsstat4, nfsstat4.NFS4_OK>, detail?: string): never {
  throw new Nfs4Error(status, detail);
}
