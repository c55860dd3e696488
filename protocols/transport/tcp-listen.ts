/**
 * Binding a TCP listener, shared by every protocol server (ONC RPC, SMB): resolves once the socket is
 * accepting, rejects with the bind error (EADDRINUSE, EACCES…) so the caller can decide, and reports
 * later listener errors to `onError` instead of crashing the process.
 */
import * as net from 'node:net';

export async function listenTcp(
  host: string,
  port: number,
  onSocket: (socket: net.Socket) => void,
  onError: (e: Error) => void,
  opts: { pauseOnConnect?: boolean } = {},
): Promise<net.Server> {
  // pauseOnConnect: the socket reads nothing until its owner says so (user-buffer-socket.ts needs that).
  const server = net.createServer({ pauseOnConnect: opts.pauseOnConnect ?? false }, onSocket);
  await new Promise<void>((resolve, reject) => {
    const onBindError = (e: Error): void => reject(e);
    server.once('error', onBindError);
    server.listen({ host, port }, () => {
      server.off('error', onBindError);
      resolve();
    });
  });
  server.on('error', onError);
  return server;
}

/** Bound addresses of the listeners that are still open. */
export function boundAddresses(servers: readonly net.Server[]): net.AddressInfo[] {
  return servers.map((s) => s.address()).filter((a): a is net.AddressInfo => !!a && typeof a === 'object');
}
