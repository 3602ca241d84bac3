import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { DfsError, errorFromWire, fromServiceError } from './errors';
import { REQUEST_ID_KEY } from './call';
import type { SessionReply, SessionReply__Output } from './gen/dfs/SessionReply';
import type { SessionRequest, SessionRequest__Output } from './gen/dfs/SessionRequest';

/**
 * Unary calls multiplexed over one bidirectional stream (the `Session` RPC).
 *
 * Why: on this class of CPU a grpc-js unary call costs about 1 ms end to end
 * (a new HTTP/2 stream, headers, trailers, the interceptor chain on both
 * sides) while a message on an open stream costs about a quarter of that,
 * and metadata operations are chains of such calls. Each request names a
 * unary method and carries its serialized message; the server runs the very
 * same handler the unary call would (same checks, metrics, request ids) and
 * answers with the serialized reply or an errno. Credentials are checked
 * once, when the stream opens, by the server's interceptor.
 */

/** A unary method of a service definition, with the (de)serializers the session reuses. */
type UnaryDefinition = grpc.MethodDefinition<unknown, unknown>;

/** More requests than this open at once on one session are refused with EAGAIN (a runaway client). */
export const MAX_OPEN_PER_SESSION = 4096;

function unaryMethod(definition: grpc.ServiceDefinition, method: string): UnaryDefinition | undefined {
  if (!Object.prototype.hasOwnProperty.call(definition, method)) return undefined;
  const def = definition[method] as UnaryDefinition;
  return def.requestStream || def.responseStream ? undefined : def;
}

/**
 * The server side: a bidi handler that runs each request through the unary
 * handler of its method. `excluded` names methods that must not ride a
 * session (those whose credentials differ per call); `server` names this
 * server in an error its handler gave without an errno.
 */
export function sessionHandler(
  definition: grpc.ServiceDefinition,
  handlers: Readonly<Record<string, unknown>>,
  excluded: ReadonlySet<string>,
  log: Logger,
  server: string,
): grpc.handleBidiStreamingCall<SessionRequest__Output, SessionReply> {
  return (call) => {
    let open = 0;
    let ended = false;
    let halfClosed = false;
    const done = () => {
      ended = true;
    };
    // The client half-closed: finish once what is open has been answered.
    const settled = () => {
      open--;
      if (halfClosed && open === 0 && !ended) call.end();
    };
    call.on('cancelled', done);
    call.on('error', done);
    const reply = (msg: SessionReply) => {
      if (!ended && !call.destroyed) call.write(msg);
    };
    const fail = (id: number, err: DfsError) => reply({ id, errno: err.errno, message: err.detail });
    call.on('data', (m: SessionRequest__Output) => {
      const def = unaryMethod(definition, m.method);
      const handler = handlers[m.method];
      if (!def || typeof handler !== 'function' || excluded.has(def.path)) {
        return fail(m.id, new DfsError('ENOSYS', `method '${m.method}' cannot be called in a session`));
      }
      if (open >= MAX_OPEN_PER_SESSION) {
        return fail(m.id, new DfsError('EAGAIN', `more than ${MAX_OPEN_PER_SESSION} requests open in one session`));
      }
      let request: unknown;
      try {
        request = def.requestDeserialize(m.payload);
      } catch (err) {
        return fail(m.id, new DfsError('EINVAL', `malformed ${m.method} request: ${(err as Error).message}`));
      }
      const metadata = new grpc.Metadata();
      if (m.requestId) metadata.set(REQUEST_ID_KEY, m.requestId);
      // What a unary handler reads of its call (src/rpc/call.ts handleUnary): the request, its metadata and path.
      const unaryCall = {
        request,
        metadata,
        getPath: () => def.path,
        getPeer: () => call.getPeer(),
        get cancelled() {
          return ended;
        },
      } as unknown as grpc.ServerUnaryCall<unknown, unknown>;
      open++;
      (handler as grpc.handleUnaryCall<unknown, unknown>)(unaryCall, (err, value) => {
        if (err) fail(m.id, fromServiceError(err, server));
        else {
          try {
            reply({ id: m.id, payload: def.responseSerialize(value) });
          } catch (e) {
            log.error({ err: e, method: m.method }, 'session: reply could not be serialized');
            fail(m.id, new DfsError('EIO', `${m.method}: reply could not be serialized`));
          }
        }
        settled();
      });
    });
    call.on('end', () => {
      halfClosed = true;
      if (open === 0 && !ended) call.end();
    });
  };
}

interface Pending {
  method: UnaryDefinition;
  resolve: (value: unknown) => void;
  reject: (err: DfsError) => void;
  timer: NodeJS.Timeout;
}

type SessionStream = grpc.ClientDuplexStream<SessionRequest, SessionReply__Output>;

/** How long an idle session stays open: an open stream keeps a process alive, a new one costs a round trip. */
const IDLE_CLOSE_MS = 2_000;

/**
 * The client side: `call` sends one request on the session stream (opened on
 * first use and again after a failure) and resolves with its reply. A broken
 * stream fails every open request as the unary call would have failed (EIO
 * "unreachable"), so callers keep their retry rules.
 */
export class SessionClient {
  private stream: SessionStream | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly openStream: () => SessionStream,
    private readonly definition: grpc.ServiceDefinition,
    private readonly peer: string,
  ) {}

  call<Res>(method: string, request: unknown, opts: { deadlineMs: number; requestId: string }): Promise<Res> {
    const def = unaryMethod(this.definition, method);
    if (!def) return Promise.reject(new DfsError('ENOSYS', `no unary method '${method}'`));
    if (this.closed) return Promise.reject(new DfsError('EIO', `${this.peer}: client closed`));
    const stream = this.ensureStream();
    const id = this.takeId();
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) {
          reject(new DfsError('ETIMEDOUT', `${this.peer} did not answer in time`));
          this.maybeIdle();
        }
      }, opts.deadlineMs);
      this.pending.set(id, { method: def, resolve: resolve as (v: unknown) => void, reject, timer });
      stream.write({ id, method, payload: def.requestSerialize(request), requestId: opts.requestId });
    });
  }

  close(): void {
    this.closed = true;
    this.drop(new DfsError('EIO', `${this.peer}: client closed`));
  }

  private takeId(): number {
    // uint32 on the wire; an id is only reused after 4 billion requests, long after its reply.
    let id = this.nextId;
    while (this.pending.has(id)) id = (id % 0xffff_ffff) + 1;
    this.nextId = (id % 0xffff_ffff) + 1;
    return id;
  }

  private ensureStream(): SessionStream {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.stream) return this.stream;
    const stream = this.openStream();
    this.stream = stream;
    stream.on('data', (r: SessionReply__Output) => this.settle(r));
    stream.on('error', (err) => {
      if (this.stream !== stream) return;
      // A status the server chose (a refused credential) stays as it is; anything else means the
      // connection or the server went away: "unreachable", which callers may retry.
      const e = fromServiceError(err, this.peer);
      this.drop(
        e.errno === 'EIO' && !e.message.includes('unreachable')
          ? new DfsError('EIO', `${this.peer} unreachable (session broke: ${e.detail})`)
          : e,
      );
    });
    stream.on('end', () => {
      if (this.stream === stream) this.drop(new DfsError('EIO', `${this.peer} unreachable (session ended)`));
    });
    return stream;
  }

  private settle(r: SessionReply__Output): void {
    const p = this.pending.get(r.id);
    if (!p) return; // timed out already
    this.pending.delete(r.id);
    clearTimeout(p.timer);
    if (r.errno) {
      p.reject(errorFromWire(r.errno, r.message));
    } else {
      try {
        p.resolve(p.method.responseDeserialize(r.payload));
      } catch (err) {
        p.reject(new DfsError('EIO', `${this.peer}: malformed reply (${(err as Error).message})`));
      }
    }
    this.maybeIdle();
  }

  private maybeIdle(): void {
    if (this.pending.size > 0 || !this.stream || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.pending.size === 0) this.drop(undefined);
    }, IDLE_CLOSE_MS);
  }

  /** Ends the stream; open requests fail with `err`. */
  private drop(err: DfsError | undefined): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const stream = this.stream;
    this.stream = undefined;
    if (stream) {
      stream.removeAllListeners('data');
      stream.on('error', () => undefined);
      stream.end();
      stream.cancel();
    }
    const failed = [...this.pending.values()];
    this.pending.clear();
    for (const p of failed) {
      clearTimeout(p.timer);
      p.reject(err ?? new DfsError('EIO', `${this.peer}: session closed`));
    }
  }
}
