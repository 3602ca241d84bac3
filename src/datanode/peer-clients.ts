import { CHANNEL_OPTIONS } from '../rpc/call';
import { DataNodeChannels } from '../rpc/datanode-channels';
import { forwardingClient, type ForwardingClient } from './wire-passthrough';

/** Channels to other data nodes, one per address, reused by every pipeline and replication. */
export class PeerClients extends DataNodeChannels {
  private readonly forwarders = new Map<string, ForwardingClient>();

  /** The pipeline's downstream client: forwards received messages without re-encoding them. */
  forwarder(address: string): ForwardingClient {
    let c = this.forwarders.get(address);
    if (!c) {
      c = forwardingClient(address, this.credentials, CHANNEL_OPTIONS);
      this.forwarders.set(address, c);
    }
    return c;
  }

  override close(): void {
    super.close();
    for (const c of this.forwarders.values()) c.close();
    this.forwarders.clear();
  }
}
