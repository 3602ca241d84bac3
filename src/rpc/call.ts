import * as grpc from '@grpc/grpc-js';
import { currentRequestId, newRequestId, withRequestId } from '../common/logger';
import { startRpc } from '../common/metrics';
import { asDfsError, fromServiceError, isTransient, toServiceError } from './errors';

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
  // A restarted server is found within about a second: at 2 s (+20% jitter) the first call after
  // a name node restart could wait out most of a 3 s metadata deadline for the channel's next try.
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc-node.flow_control_window': 16 * 1024 * 1024,
};

/**
 * Server options every dfs server uses. Our patch of @grpc/grpc-js (patches/)
 * also turns Nagle's algorithm off on accepted connections, as grpc-js does
 * for the client's: with it on, a reply written while the previous one is
 * still unacknowledged waited for the peer's ACK, and a small read or
 * metadata call took 1-2 ms longer on loopback.
 */
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
  /** Sent as `x-request-id`; default: the request's own id field, the current request's, or a new one. */
  requestId?: string;
}

/** The gRPC metadata key that carries a request id from caller to callee. */
export const REQUEST_ID_KEY = 'x-request-id';

/** The id a message carries itself (`request_id`, or `caller.request_id` in name node requests). */
export function requestIdInMessage(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const own = (message as { requestId?: unknown }).requestId;
  if (typeof own === 'string' && own !== '') return own;
  const caller = (message as { caller?: unknown }).caller;
  if (typeof caller !== 'object' || caller === null) return undefined;
  const id = (caller as { requestId?: unknown }).requestId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Metadata for an outgoing call of request `requestId` (also for streaming calls, which do not go through unary). */
export function requestMetadata(requestId = currentRequestId() ?? newRequestId(), base?: grpc.Metadata): grpc.Metadata {
  const md = base ? base.clone() : new grpc.Metadata();
  md.set(REQUEST_ID_KEY, requestId);
  return md;
}

/** The request id of an incoming call: its metadata, else the message's own field, else a new one. */
export function incomingRequestId(metadata: grpc.Metadata, message?: unknown): string {
  const sent = metadata.get(REQUEST_ID_KEY)[0];
  if (typeof sent === 'string' && sent !== '') return sent.slice(0, 64);
  return requestIdInMessage(message) ?? newRequestId();
}

/** A generated stub's unary method, as `unary()` calls it. */
export type UnaryMethod<Req, Res> = (
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
  // Retries are the same request: one id for every attempt.
  const metadata = opts.metadata?.get(REQUEST_ID_KEY).length
    ? opts.metadata
    : requestMetadata(
        opts.requestId ?? requestIdInMessage(request) ?? currentRequestId() ?? newRequestId(),
        opts.metadata,
      );
  let backoff = 100;
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise<Res>((resolve, reject) => {
        method.call(
          client,
          request,
          metadata,
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

/**
 * Adapts an async function to a grpc-js unary handler, mapping thrown errors
 * to status + errno. The handler runs inside its request's context (so its
 * logs and outgoing calls carry the caller's request id: `currentRequestId()`)
 * and is counted in `dfs_rpc_*` metrics.
 */
export function handleUnary<Req, Res>(
  fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const done = startRpc(call.getPath());
    withRequestId(incomingRequestId(call.metadata, call.request), () =>
      fn(call.request, call).then(
        (res) => {
          done();
          callback(null, res);
        },
        (err: unknown) => {
          const status = toServiceError(err);
          done(asDfsError(err).errno);
          callback(status as grpc.ServiceError);
        },
      ),
    );
  };
}

type StreamingHandler =
  | grpc.handleClientStreamingCall<unknown, unknown>
  | grpc.handleServerStreamingCall<unknown, unknown>
  | grpc.handleBidiStreamingCall<unknown, unknown>;

/** Counts a client-streaming call: it ends when the handler answers. */
function clientStreaming(handler: grpc.handleClientStreamingCall<unknown, unknown>) {
  return (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void => {
    const done = startRpc(call.getPath());
    withRequestId(incomingRequestId(call.metadata), () =>
      handler(call, (err, value, trailer, flags) => {
        done(err ? fromServiceError(err).errno : undefined);
        callback(err, value, trailer, flags);
      }),
    );
  };
}

/** Counts a server-streaming (or bidi) call: it ends when the response stream finishes, fails or is cancelled. */
function serverStreaming<
  C extends grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
>(handler: (call: C) => void) {
  return (call: C): void => {
    const done = startRpc(call.getPath());
    call.on('error', (err: unknown) => done(fromServiceError(err).errno));
    call.on('cancelled', () => done('ECANCELED'));
    call.on('finish', () => done());
    const message = 'request' in call ? call.request : undefined;
    withRequestId(incomingRequestId(call.metadata, message), () => handler(call));
  };
}

/**
 * Wraps a service's streaming handlers so they are counted like unary ones
 * (unary handlers count themselves through `handleUnary`) and start inside
 * their request's context. Event listeners do not inherit that context: such
 * handlers log the id their messages carry (WriteChunk's header.request_id).
 */
export function instrumentStreams<H extends object>(definition: grpc.ServiceDefinition, handlers: H): H {
  const wrapped = { ...handlers } as Record<string, unknown>;
  for (const [name, method] of Object.entries(definition)) {
    const handler = wrapped[name];
    if (typeof handler !== 'function' || (!method.requestStream && !method.responseStream)) continue;
    const h = handler as StreamingHandler;
    wrapped[name] =
      method.requestStream && !method.responseStream
        ? clientStreaming(h as grpc.handleClientStreamingCall<unknown, unknown>)
        : serverStreaming(h as (call: grpc.ServerWritableStream<unknown, unknown>) => void);
  }
  return wrapped as H;
}
