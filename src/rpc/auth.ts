import * as grpc from '@grpc/grpc-js';
import { asDfsError, toServiceError } from './errors';

/**
 * Credentials on gRPC calls: the metadata key every authenticated call
 * carries, the client interceptor that adds it, and the server interceptor
 * that refuses a call before its handler runs. What a credential must be is
 * decided by the server (src/namenode/auth.ts); how it is signed is in tokens.ts.
 */
export const AUTH_METADATA_KEY = 'authorization';

/** Adds `authorization: Bearer <credential>` to every call (a fresh credential per call: node proofs carry a time). */
export function bearerInterceptor(credential: () => string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start: (metadata, listener, next) => {
        metadata.set(AUTH_METADATA_KEY, `Bearer ${credential()}`);
        next(metadata, listener);
      },
    });
}

/** The bearer credential of an incoming call, or '' when none was sent. */
export function bearerOf(metadata: grpc.Metadata): string {
  const v = metadata.get(AUTH_METADATA_KEY)[0];
  if (typeof v !== 'string') return '';
  return v.startsWith('Bearer ') ? v.slice(7).trim() : '';
}

/** Returned by a guard: the call may proceed; `message`, when given, also checks each request message. */
export interface Admission {
  message?: (message: unknown) => void;
  /** Runs once when the call ends (frees a slot the guard took). */
  done?: () => void;
}

/**
 * A server interceptor that runs `guard` on each call's metadata (and its
 * messages when the guard asks to): a throw refuses the call with the
 * error's status (EACCES -> PERMISSION_DENIED, EAGAIN -> RESOURCE_EXHAUSTED)
 * and errno, before any handler sees it. `refused` logs the refusal.
 */
export function guardInterceptor(
  guard: (path: string, metadata: grpc.Metadata, call: grpc.ServerInterceptingCallInterface) => Admission,
  refused: (path: string, peer: string, reason: string) => void,
): grpc.ServerInterceptor {
  return (method, call) => {
    let admission: Admission | undefined;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      admission?.done?.();
    };
    const refuse = (err: unknown) => {
      const e = asDfsError(err);
      refused(method.path, call.getPeer(), e.message);
      end();
      const status = toServiceError(e) as grpc.StatusObject;
      // A refusal for load is RESOURCE_EXHAUSTED, not UNAVAILABLE (which means "server unreachable").
      if (e.errno === 'EAGAIN') status.code = grpc.status.RESOURCE_EXHAUSTED;
      call.sendStatus(status);
    };
    return new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, mdNext) => {
            try {
              admission = guard(method.path, metadata, call);
            } catch (err) {
              return refuse(err);
            }
            mdNext(metadata);
          },
          onReceiveMessage: (message, msgNext) => {
            if (ended) return;
            try {
              admission?.message?.(message);
            } catch (err) {
              return refuse(err);
            }
            msgNext(message);
          },
          onCancel: end,
        }),
      sendStatus: (status, next) => {
        end();
        next(status);
      },
    });
  };
}
