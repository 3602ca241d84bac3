import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from './call';
import { DfsError } from './errors';
import type { DataNodeClient } from './gen/dfs/DataNode';
import { dataNodeService } from './load';
import { SessionClient } from './session';

/**
 * One gRPC channel per data node address, created on first use and reused by
 * every caller: the client's pool and a data node's peers both build on it.
 * Small reads and writes ride one session stream per node (src/rpc/session.ts).
 */
export class DataNodeChannels {
  private readonly clients = new Map<string, DataNodeClient>();
  private readonly sessions = new Map<string, SessionClient>();
  /** `method address` pairs an older data node refused in a session (ENOSYS): those go as streams. */
  private readonly refused = new Set<string>();

  /** `credentials`: TLS (maybe presenting a certificate) or plaintext, as the process is configured. */
  constructor(protected readonly credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {}

  get(address: string): DataNodeClient {
    let c = this.clients.get(address);
    if (!c) {
      const DataNode = dataNodeService().DataNode;
      c = new DataNode(address, this.credentials, CHANNEL_OPTIONS);
      this.clients.set(address, c);
    }
    return c;
  }

  /**
   * `method` as one message on the node's session; undefined when the node
   * does not take it there (a data node older than the method answered
   * ENOSYS once), and the caller uses the method's stream instead.
   */
  async inSession<Res>(
    address: string,
    method: string,
    request: unknown,
    opts: { deadlineMs: number; requestId: string },
  ): Promise<Res | undefined> {
    const key = `${method} ${address}`;
    if (this.refused.has(key)) return undefined;
    try {
      return await this.sessionFor(address).call<Res>(method, request, opts);
    } catch (err) {
      if (!(err instanceof DfsError) || err.errno !== 'ENOSYS') throw err;
      this.refused.add(key);
      return undefined;
    }
  }

  close(): void {
    for (const s of this.sessions.values()) s.close();
    this.sessions.clear();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private sessionFor(address: string): SessionClient {
    let s = this.sessions.get(address);
    if (!s) {
      const client = this.get(address);
      s = new SessionClient(() => client.Session(), dataNodeService().DataNode.service, `data node ${address}`);
      this.sessions.set(address, s);
    }
    return s;
  }
}
