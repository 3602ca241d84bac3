import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from './call';
import type { DataNodeClient } from './gen/dfs/DataNode';
import { dataNodeService } from './load';

/**
 * One gRPC channel per data node address, created on first use and reused by
 * every caller: the client's pool and a data node's peers both build on it.
 */
export class DataNodeChannels {
  private readonly clients = new Map<string, DataNodeClient>();

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

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
