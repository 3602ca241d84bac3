import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import pino from 'pino';

export type Logger = pino.Logger;

/** What travels with one request inside a process (set by the RPC handlers, read by logs and outgoing calls). */
interface RequestContext {
  reqId: string;
}

const requestContext = new AsyncLocalStorage<RequestContext>();

/** The id of the request this code runs on behalf of, if any (async continuations keep it). */
export function currentRequestId(): string | undefined {
  return requestContext.getStore()?.reqId;
}

/** Runs `fn` (and everything it awaits or schedules) as part of request `reqId`. */
export function withRequestId<T>(reqId: string, fn: () => T): T {
  return requestContext.run({ reqId }, fn);
}

/**
 * A child of `log` bound to the current request's id: for code that keeps a
 * logger past the request (e.g. event listeners, which do not inherit the
 * request context). Inside a request every logger already adds `reqId`.
 */
export function requestLogger(log: Logger, reqId = currentRequestId()): Logger {
  if (reqId === undefined) return log;
  const child = log.child({ reqId });
  boundLoggers.add(child);
  return child;
}

/** Loggers that already carry `reqId` in their bindings (the mixin must not add it twice). */
const boundLoggers = new WeakSet<Logger>();

/**
 * Adds `reqId` to every line logged while a request runs, so handlers need no
 * logger of their own; a `reqId` given explicitly (or bound by a child) wins.
 */
function requestMixin(_merge: object, _level: number, logger: pino.Logger): object {
  const reqId = currentRequestId();
  if (reqId === undefined || boundLoggers.has(logger)) return {};
  return { reqId };
}

/**
 * Structured logs for every process. Servers default to `info`, the CLI and
 * the mount to `warn` (DFS_LOG_LEVEL overrides); pretty output only on a TTY.
 * Logs go to stderr so the CLI's stdout stays clean for --json.
 */
export function createLogger(name: string, defaultLevel: 'info' | 'warn' = 'info'): Logger {
  const level = process.env.DFS_LOG_LEVEL ?? defaultLevel;
  const pretty = process.stderr.isTTY && process.env.DFS_LOG_PRETTY !== '0';
  const options: pino.LoggerOptions = { name, level, mixin: requestMixin };
  if (pretty) {
    try {
      require.resolve('pino-pretty');
      return pino({ ...options, transport: { target: 'pino-pretty', options: { destination: 2 } } });
    } catch {
      // pino-pretty is a dev dependency: fall back to JSON.
    }
  }
  return pino(options, pino.destination({ fd: 2, sync: false }));
}

/**
 * A short id that travels with one request through client, name node and data
 * nodes: a random per-process prefix and a counter, because drawing random
 * bytes for every call is measurable on hot metadata paths.
 */
const requestIdPrefix = randomBytes(4).toString('hex');
let requestCounter = 0;

export function newRequestId(): string {
  requestCounter = (requestCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${requestIdPrefix}-${requestCounter.toString(36)}`;
}
