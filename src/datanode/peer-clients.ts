import * as grpc from '@grpc/grpc-js';
import { dataNodeService } from '../rpc/load';
import { CHANNEL_OPTIONS } from '../rpc/call';
import type { DataNodeClient } from '../rpc/gen/dfs/DataNode';
import { forwardingClient, type ForwardingClient } from './wire-passthrough';

/** Channels to other data nodes, one per address, reused by every pipeline and replication. */
export class PeerClients {
  /** `credentials`: TLS (presenting this node's certificate) or plaintext, as the node is configured. */
  constructor(private readonly credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure()) {}

  private readonly clients = new Map<string, DataNodeClient>();
  private readonly forwarders = new Map<string, ForwardingClient>();

  get(address: string): DataNodeClient {
    let c = this.clients.get(address);
    if (!c) {
      const DataNode = dataNodeService().DataNode;
      c = new DataNode(address, this.credentials, CHANNEL_OPTIONS);
      this.clients.set(address, c);
    }
    return c;
  }

  /** The pipeline's downstream client: forwards received messages without re-encoding them. */
  forwarder(address: string): ForwardingClient {
    let c = this.forwarders.get(address);
    if (!c) {
      c = forwardingClient(address, this.credentials, CHANNEL_OPTIONS);
      this.forwarders.set(address, c);
    }
    return c;
  }

  close(): void {
    for (const c of [...this.clients.values(), ...this.forwarders.values()]) c.close();
    this.clients.clear();
    this.forwarders.clear();
  }
}
