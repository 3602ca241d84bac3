import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { currentRequestId } from '../../src/common/logger';
import { freePort } from '../../src/common/ports';
import { handleUnary } from '../../src/rpc/call';
import { DfsError } from '../../src/rpc/errors';
import { nameNodeService } from '../../src/rpc/load';
import { SessionClient, sessionHandler } from '../../src/rpc/session';

/**
 * The metadata session (src/rpc/session.ts): many unary calls over one
 * stream must behave exactly like the unary calls they replace: replies
 * matched to their requests, errnos kept, deadlines, request ids, refused
 * methods, and a clean failure and recovery when the server goes away.
 */

const log = pino({ level: 'silent' });
const NameNode = nameNodeService().NameNode;
const def = NameNode.service;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Running {
  server: grpc.Server;
  address: string;
  seenRequestIds: string[];
}

async function startServer(port?: number): Promise<Running> {
  const seenRequestIds: string[] = [];
  const handlers: Record<string, unknown> = {
    // Answers after `ino` milliseconds, so replies come back out of order.
    GetAttr: handleUnary(async (req: { ino: string }) => {
      await sleep(Number(req.ino));
      seenRequestIds.push(currentRequestId() ?? '');
      return { ino: req.ino, mode: 0o100644 };
    }),
    Lookup: handleUnary(async (req: { name: string }) => {
      throw new DfsError('ENOENT', `no entry named ${req.name}`);
    }),
    Heartbeat: handleUnary(async () => ({ reregister: false })),
  };
  handlers.Session = sessionHandler(def, handlers, new Set(['/dfs.NameNode/Heartbeat']), log, 'name node');
  const server = new grpc.Server();
  server.addService(def, handlers as grpc.UntypedServiceImplementation);
  const p = port ?? (await freePort());
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${p}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return { server, address: `127.0.0.1:${p}`, seenRequestIds };
}

let running: Running | undefined;
let clients: { client: grpc.Client; session: SessionClient }[] = [];

function connect(address: string): SessionClient {
  const client = new NameNode(address, grpc.credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 200,
  });
  const session = new SessionClient(() => client.Session(), def, `name node ${address}`);
  clients.push({ client, session });
  return session;
}

afterEach(async () => {
  for (const c of clients) {
    c.session.close();
    c.client.close();
  }
  clients = [];
  running?.server.forceShutdown();
  running = undefined;
});

/** The error a call failed with (the test fails on the assertions if it did not fail). */
const failure = (p: Promise<unknown>): Promise<DfsError> =>
  p.then(
    () => undefined as never,
    (e: unknown) => e as DfsError,
  );

const getAttr = (s: SessionClient, ms: number, requestId = `r${ms}`, deadlineMs = 5_000) =>
  s.call<{ ino: string; mode: number }>('GetAttr', { ino: String(ms) }, { deadlineMs, requestId });

describe('metadata session', () => {
  it('matches concurrent replies to their requests when they come back out of order', async () => {
    running = await startServer();
    const s = connect(running.address);
    // 60 ms apart: arrival skew on a loaded machine must not reorder them.
    const delays = [420, 60, 240, 0, 120, 360, 180, 300];
    const replies = await Promise.all(delays.map((ms) => getAttr(s, ms)));
    expect(replies.map((r) => Number(r.ino))).toEqual(delays);
    // Finished in delay order, not send order: they really ran concurrently on one stream.
    expect(running.seenRequestIds).toEqual([...delays].sort((a, b) => a - b).map((ms) => `r${ms}`));
  });

  it('keeps the errno and message of a failed call', async () => {
    running = await startServer();
    const s = connect(running.address);
    const err = await failure(s.call('Lookup', { name: 'missing' }, { deadlineMs: 5_000, requestId: 'x' }));
    expect(err).toBeInstanceOf(DfsError);
    expect(err.errno).toBe('ENOENT');
    expect(err.message).toContain('no entry named missing');
    // Once, as the unary call would say it: not "ENOENT: ENOENT: ...".
    expect(err.message).toMatch(/^ENOENT: (?!ENOENT)/);
    // The stream survives an error reply.
    expect((await getAttr(s, 0)).ino).toBe('0');
  });

  it('fails a call that outlives its deadline with ETIMEDOUT and keeps the session usable', async () => {
    running = await startServer();
    const s = connect(running.address);
    const err = await failure(getAttr(s, 300, 'slow', 50));
    expect(err.errno).toBe('ETIMEDOUT');
    expect((await getAttr(s, 1)).ino).toBe('1');
    await sleep(350); // the late reply arrives and is dropped without harm
    expect((await getAttr(s, 2)).ino).toBe('2');
  });

  it('refuses methods that must not ride a session, and unknown ones', async () => {
    running = await startServer();
    const s = connect(running.address);
    const excluded = await failure(s.call('Heartbeat', { id: 'dn1' }, { deadlineMs: 5_000, requestId: 'h' }));
    expect(excluded.errno).toBe('ENOSYS');
    const unknown = await failure(s.call('NoSuchMethod', {}, { deadlineMs: 5_000, requestId: 'u' }));
    expect(unknown.errno).toBe('ENOSYS');
    // A method the server has no handler for is refused by the server, not dropped.
    const unimplemented = await failure(s.call('StatFs', {}, { deadlineMs: 5_000, requestId: 's' }));
    expect(unimplemented.errno).toBe('ENOSYS');
  });

  it('passes each request id to the handler', async () => {
    running = await startServer();
    const s = connect(running.address);
    await getAttr(s, 0, 'req-abc');
    expect(running.seenRequestIds).toEqual(['req-abc']);
  });

  it('fails open calls as unreachable when the server dies, and works again when it is back', async () => {
    running = await startServer();
    const port = Number(running.address.split(':')[1]);
    const s = connect(running.address);
    expect((await getAttr(s, 0)).ino).toBe('0');
    const open = failure(getAttr(s, 2_000));
    await sleep(50);
    running.server.forceShutdown();
    const err = await open;
    expect(err.errno).toBe('EIO');
    expect(err.message).toContain('unreachable');
    running = await startServer(port);
    let ok: { ino: string } | undefined;
    for (let i = 0; i < 50 && !ok; i++) {
      ok = await getAttr(s, 3).catch(async () => {
        await sleep(100);
        return undefined;
      });
    }
    expect(ok?.ino).toBe('3');
  });

  it('rejects calls after close', async () => {
    running = await startServer();
    const s = connect(running.address);
    s.close();
    const err = await failure(getAttr(s, 0));
    expect(err.errno).toBe('EIO');
  });
});
