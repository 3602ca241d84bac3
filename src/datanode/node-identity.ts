import { DfsError } from '../rpc/errors';

/** Who this data node is, as peers and the name node see it. */
export interface NodeIdentity {
  id: string;
  address: string;
}

/**
 * Pipeline errors name the node that failed, in one format the client can match
 * against its pipeline: `pipeline node <id> (<address>): <reason>`.
 */
export function pipelineNodeError(node: NodeIdentity, err: DfsError): DfsError {
  return new DfsError(err.errno, `pipeline node ${node.id} (${node.address}): ${err.detail}`);
}

/** Whether a message already names the pipeline node that failed (it came from further downstream). */
export function namesPipelineNode(message: string): boolean {
  return message.includes('pipeline node ');
}
