import { CHANNEL_OPTIONS, unary } from '../rpc/call';
import type { BalanceRequest } from '../rpc/gen/dfs/BalanceRequest';
import type { BalanceStatus__Output } from '../rpc/gen/dfs/BalanceStatus';
import type { DecommissionReply__Output } from '../rpc/gen/dfs/DecommissionReply';
import type { DecommissionRequest } from '../rpc/gen/dfs/DecommissionRequest';
import { nameNodeService } from '../rpc/load';
import { loadClientSecurity } from '../client/credentials';
import { bearerInterceptor } from '../rpc/auth';
import { channelCredentials } from '../rpc/tls';
import { cliSecurityFlags, probeNameNode } from './context';

const DEADLINE_MS = 10_000;

export type AdminMethod =
  | 'Balance'
  | 'Decommission'
  | 'CreateClass'
  | 'DeleteClass'
  | 'ListClasses'
  | 'SetClassPattern'
  | 'SetClass'
  | 'GetClass';

/**
 * The operator calls (balance, decommission, storage classes) that the client
 * library does not cover: a plain name node stub, one call per use, closed
 * right after.
 */
export async function adminCall<Req, Res>(namenode: string, method: AdminMethod, request: Req): Promise<Res> {
  await probeNameNode(namenode);
  const NameNode = nameNodeService().NameNode;
  const { token, tls } = loadClientSecurity(cliSecurityFlags());
  const client = new NameNode(namenode, channelCredentials(tls), {
    ...CHANNEL_OPTIONS,
    interceptors: token ? [bearerInterceptor(() => token)] : [],
  });
  try {
    const fn = client[method] as unknown as Parameters<typeof unary<Req, Res>>[1];
    return await unary<Req, Res>(client, fn, request, { deadlineMs: DEADLINE_MS, peer: `name node ${namenode}` });
  } finally {
    client.close();
  }
}

export function balanceCall(namenode: string, request: BalanceRequest): Promise<BalanceStatus__Output> {
  return adminCall(namenode, 'Balance', request);
}

export function decommissionCall(namenode: string, request: DecommissionRequest): Promise<DecommissionReply__Output> {
  return adminCall(namenode, 'Decommission', request);
}
