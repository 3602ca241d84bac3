import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from '../rpc/call';
import type { DataNodeClient } from '../rpc/gen/dfs/DataNode';
import { dataNodeService } from '../rpc/load';

/** One gRPC channel per data node address (the name node calls DeleteChunks, TruncateChunk on them). */
export class DataNodeClients {
  private readonly clients = new Map<string, DataNodeClient>();

  get(address: string): DataNodeClient {
    let c = this.clients.get(address);
    if (!c) {
      const Ctor = dataNodeService().DataNode;
      c = new Ctor(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      this.clients.set(address, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
