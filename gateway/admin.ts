/**
 * The gateway's admin endpoint: a small JSON-over-HTTP API on a loopback port (config `admin.port`, or
 * `serve --admin-port`) that `gateway volume ...` and `gateway heal ...` talk to. It exists because a
 * layout change must go through the gateway that serves the volume (it connects the new brick, runs the
 * rebalance, and its metadata engine may be an embedded one that only it can write).
 *
 *   GET    /v1/volumes                     every volume: name, distributed or not, cluster status
 *   GET    /v1/volumes/NAME                one volume's status
 *   POST   /v1/volumes/NAME/bricks         {"id": "...", "address": "host:port"}  add a brick, rebalance
 *   DELETE /v1/volumes/NAME/bricks/ID      remove a brick (its objects move off first)
 *   POST   /v1/volumes/NAME/heal           start a heal pass now
 *
 * Errors come back as {"error": "...", "code": "<Errc>"} with a 4xx/5xx status. Bodies are capped.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { BrickCluster } from '../cluster/bricks/brick-cluster';
import { CoreError, Errc } from '../cluster/vfs/errors';

const MAX_BODY = 64 * 1024;

export interface AdminVolume {
  name: string;
  engine: string;
  chunkSize: number;
  cluster?: BrickCluster;
}

function volumeJson(v: AdminVolume): object {
  return { name: v.name, engine: v.engine, chunkSize: v.chunkSize, distributed: !!v.cluster, ...(v.cluster ? { status: v.cluster.status(), layout: v.cluster.currentLayout } : {}) };
}

const STATUS: Partial<Record<Errc, number>> = { [Errc.NOENT]: 404, [Errc.EXIST]: 409, [Errc.INVAL]: 400, [Errc.DELAY]: 409, [Errc.NOTSUPP]: 400 };

async function body(req: IncomingMessage): Promise<any> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_BODY) throw new CoreError(Errc.INVAL, 'request body too large');
    parts.push(c as Buffer);
  }
  if (!n) return {};
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8'));
  } catch {
    throw new CoreError(Errc.INVAL, 'body is not JSON');
  }
}

export class AdminServer {
  private server?: Server;

  constructor(private readonly volumes: Map<string, AdminVolume>) {}

  private cluster(name: string): BrickCluster {
    const v = this.volumes.get(name);
    if (!v) throw new CoreError(Errc.NOENT, `no volume ${name}`);
    if (!v.cluster) throw new CoreError(Errc.NOTSUPP, `volume ${name} has no bricks (embedded single-node volume)`);
    return v.cluster;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const send = (code: number, o: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(o, null, 1) + '\n');
    };
    try {
      if (parts[0] !== 'v1' || parts[1] !== 'volumes') throw new CoreError(Errc.NOENT, 'unknown path');
      const name = parts[2];
      if (req.method === 'GET' && parts.length === 2) return send(200, [...this.volumes.values()].map(volumeJson));
      if (!name) throw new CoreError(Errc.NOENT, 'unknown path');
      if (req.method === 'GET' && parts.length === 3) {
        const v = this.volumes.get(name);
        if (!v) throw new CoreError(Errc.NOENT, `no volume ${name}`);
        return send(200, volumeJson(v));
      }
      if (req.method === 'POST' && parts.length === 4 && parts[3] === 'bricks') {
        const b = await body(req);
        if (typeof b.id !== 'string' || typeof b.address !== 'string') throw new CoreError(Errc.INVAL, 'need {"id", "address"}');
        const layout = await this.cluster(name).addBrick({ id: b.id, address: b.address }, { force: b.force === true });
        return send(200, { layout });
      }
      if (req.method === 'DELETE' && parts.length === 5 && parts[3] === 'bricks') {
        const layout = await this.cluster(name).removeBrick(parts[4]!, { force: url.searchParams.get('force') === '1' });
        return send(200, { layout });
      }
      if (req.method === 'POST' && parts.length === 4 && parts[3] === 'heal') {
        const c = this.cluster(name);
        void c.healer.kick();
        return send(200, { heal: c.healer.status() });
      }
      throw new CoreError(Errc.NOENT, 'unknown path');
    } catch (e) {
      if (e instanceof CoreError) return send(STATUS[e.errc] ?? 500, { error: e.message, code: e.errc });
      return send(500, { error: e instanceof Error ? e.message : String(e) });
    }
  }

  async listen(host: string, port: number): Promise<number> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject).listen(port, host, () => resolve());
    });
    const a = this.server.address();
    return typeof a === 'object' && a ? a.port : port;
  }

  async close(): Promise<void> {
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
