import http from 'node:http';
import { serveMetrics } from '../common/metrics';
import { registerNameNodeMetrics } from './metrics';
import type { NameNode } from './name-node';
import { clusterStatus, securityHeaders, serveAsset } from './status-page';

/**
 * The name node's HTTP port (`--http-port`): `/healthz`, and with a name node
 * `/metrics` (Prometheus), `/api/status` (JSON) and the status page at `/`.
 * Read-only: nothing here changes the cluster, so GET and HEAD only.
 */
export function createHttpServer(isHealthy: () => boolean, nn?: NameNode): http.Server {
  if (nn) registerNameNodeMetrics(nn);
  return http.createServer((req, res) => {
    const url = req.url?.split('?')[0] ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' });
      res.end('method not allowed\n');
      return;
    }
    if (url === '/healthz') {
      const ok = isHealthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'unhealthy\n');
      return;
    }
    if (nn && url === '/metrics') return serveMetrics(res);
    if (nn && url === '/api/status') {
      let body: string;
      try {
        body = JSON.stringify(clusterStatus(nn));
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`status unavailable: ${String(err)}\n`);
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        ...securityHeaders(),
      });
      res.end(body);
      return;
    }
    if (nn && serveAsset(url, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
}
