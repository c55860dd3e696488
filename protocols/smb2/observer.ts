/**
 * What the SMB server reports about itself (gateway/smb.ts feeds prom-client from it). Kept to plain
 * callbacks so protocols/ knows nothing of the metrics library.
 */
export interface SmbObserver {
  /** One request answered: command name, NTSTATUS, seconds from decode to reply, bytes in and out. */
  request(command: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void;
}
