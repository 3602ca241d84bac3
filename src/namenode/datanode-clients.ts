import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS } from '../rpc/call';
import type { DataNodeClient } from '../rpc/gen/dfs/DataNode';
import { dataNodeService } from '../rpc/load';

/** How every channel to a data node is made; set once at start-up by `secureDataNodeChannels` (auth.ts). */
let channels: { credentials: () => grpc.ChannelCredentials; interceptors: grpc.Interceptor[] } = {
  credentials: () => grpc.credentials.createInsecure(),
  interceptors: [],
};

export function configureDataNodeChannels(
  credentials: grpc.ChannelCredentials,
  interceptors: grpc.Interceptor[],
): void {
  channels = { credentials: () => credentials, interceptors };
}

/** One gRPC channel per data node address (the name node calls DeleteChunks, TruncateChunk on them). */
export class DataNodeClients {
  private readonly clients = new Map<string, DataNodeClient>();

  get(address: string): DataNodeClient {
    let c = this.clients.get(address);
    if (!c) {
      const Ctor = dataNodeService().DataNode;
      c = new Ctor(address, channels.credentials(), { ...CHANNEL_OPTIONS, interceptors: channels.interceptors });
      this.clients.set(address, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
