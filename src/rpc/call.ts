import * as grpc from '@grpc/grpc-js';
import { fromServiceError, isTransient, toServiceError } from './errors';

/** Bulk data moves in messages of this size: large enough for throughput, well under the 4 MiB default limit. */
export const DATA_MESSAGE_BYTES = 1024 * 1024;
/** The largest message any dfs process accepts. */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/** Channel options every dfs client uses. */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2_000,
  'grpc-node.flow_control_window': 16 * 1024 * 1024,
};

/** Server options every dfs server uses. */
export const SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
  'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 5_000,
};

export interface CallOptions {
  /** Per-attempt deadline. */
  deadlineMs?: number;
  /** Safe to send again after a transport failure (reads, and writes that are idempotent by design). */
  idempotent?: boolean;
  /** Total attempts for idempotent calls. */
  attempts?: number;
  /** Names the peer in error messages. */
  peer?: string;
  metadata?: grpc.Metadata;
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, value?: Res) => void,
) => grpc.ClientUnaryCall;

export const DEFAULT_DEADLINE_MS = 10_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One unary call with a deadline; idempotent calls are retried with
 * exponential backoff on transport failures. Errors come back as DfsError.
 */
export async function unary<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  opts: CallOptions = {},
): Promise<Res> {
  const attempts = opts.idempotent ? (opts.attempts ?? 4) : 1;
  let backoff = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise<Res>((resolve, reject) => {
        method.call(
          client,
          request,
          opts.metadata ?? new grpc.Metadata(),
          { deadline: Date.now() + (opts.deadlineMs ?? DEFAULT_DEADLINE_MS) },
          (err, value) => (err ? reject(err) : resolve(value as Res)),
        );
      });
    } catch (err) {
      if (attempt >= attempts || !isTransient(err)) throw fromServiceError(err, opts.peer);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 2_000);
    }
  }
}

/** Adapts an async function to a grpc-js unary handler, mapping thrown errors to status + errno. */
export function handleUnary<Req, Res>(
  fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, call).then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err) as grpc.ServiceError),
    );
  };
}
