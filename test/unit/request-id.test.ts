import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentRequestId, withRequestId } from '../../src/common/logger';
import { handleUnary, instrumentStreams, REQUEST_ID_KEY, requestMetadata, unary } from '../../src/rpc/call';
import { DfsError } from '../../src/rpc/errors';

/** A tiny JSON-over-gRPC service, so the test needs no proto: Echo reports the id it ran under; Relay calls Echo. */
type Msg = { requestId?: string; caller?: { requestId?: string }; seen?: string; relayed?: string };
const json = {
  requestSerialize: (m: Msg) => Buffer.from(JSON.stringify(m)),
  requestDeserialize: (b: Buffer): Msg => JSON.parse(b.toString()) as Msg,
  responseSerialize: (m: Msg) => Buffer.from(JSON.stringify(m)),
  responseDeserialize: (b: Buffer): Msg => JSON.parse(b.toString()) as Msg,
};
const definition: grpc.ServiceDefinition = {
  Echo: { path: '/test.Probe/Echo', requestStream: false, responseStream: false, ...json },
  Relay: { path: '/test.Probe/Relay', requestStream: false, responseStream: false, ...json },
  Watch: { path: '/test.Probe/Watch', requestStream: false, responseStream: true, ...json },
};

type UnaryFn = (
  req: Msg,
  md: grpc.Metadata,
  opts: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, value?: Msg) => void,
) => grpc.ClientUnaryCall;
interface ProbeClient extends grpc.Client {
  Echo: UnaryFn;
  Relay: UnaryFn;
  Watch(req: Msg, md: grpc.Metadata): grpc.ClientReadableStream<Msg>;
}

let server: grpc.Server;
let client: ProbeClient;

beforeAll(async () => {
  server = new grpc.Server();
  const handlers = {
    Echo: handleUnary<Msg, Msg>(async () => {
      await new Promise((r) => setTimeout(r, 1)); // the id must survive an await
      return { seen: currentRequestId() };
    }),
    Relay: handleUnary<Msg, Msg>(async () => {
      // A server that calls another server (the name node calling a data node) passes its request's id on.
      const reply = await unary(client, client.Echo, {});
      return { seen: currentRequestId(), relayed: reply.seen };
    }),
    Watch: (call: grpc.ServerWritableStream<Msg, Msg>) => {
      call.write({ seen: currentRequestId() });
      call.end();
    },
  };
  server.addService(definition, instrumentStreams(definition, handlers));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const Ctor = grpc.makeGenericClientConstructor(definition, 'Probe');
  client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as ProbeClient;
});

afterAll(() => {
  client?.close();
  server?.forceShutdown();
});

describe('request ids', () => {
  it('reach the handler from an explicit option', async () => {
    expect((await unary(client, client.Echo, {}, { requestId: 'explicit-1' })).seen).toBe('explicit-1');
  });

  it("default to the message's own id (the client's Caller.request_id)", async () => {
    expect((await unary(client, client.Echo, { caller: { requestId: 'caller-7' } })).seen).toBe('caller-7');
    expect((await unary(client, client.Echo, { requestId: 'field-8' })).seen).toBe('field-8');
  });

  it('default to the id of the request being served, then to a new one', async () => {
    expect(await withRequestId('outer-3', () => unary(client, client.Echo, {}))).toMatchObject({ seen: 'outer-3' });
    const fresh = await unary(client, client.Echo, {});
    expect(fresh.seen).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
    expect((await unary(client, client.Echo, {})).seen).not.toBe(fresh.seen);
  });

  it('travel on when a server calls another server', async () => {
    const reply = await unary(client, client.Relay, {}, { requestId: 'chain-9' });
    expect(reply).toEqual({ seen: 'chain-9', relayed: 'chain-9' });
  });

  it('reach streaming handlers from metadata', async () => {
    const stream = client.Watch({}, requestMetadata('stream-5'));
    const seen: Msg[] = [];
    for await (const m of stream) seen.push(m as Msg);
    expect(seen).toEqual([{ seen: 'stream-5' }]);
  });

  it('are not lost to a caller-supplied metadata object, which is left unchanged', async () => {
    const md = new grpc.Metadata();
    md.set('x-other', '1');
    expect((await unary(client, client.Echo, {}, { metadata: md, requestId: 'md-2' })).seen).toBe('md-2');
    expect(md.get(REQUEST_ID_KEY)).toEqual([]);
  });

  it('leave errors mapped as before', async () => {
    const failing = new grpc.Server();
    failing.addService(definition, {
      Echo: handleUnary<Msg, Msg>(async () => {
        throw new DfsError('ENOENT', `nothing here (${currentRequestId()})`);
      }),
      Relay: handleUnary<Msg, Msg>(async () => ({})),
      Watch: (call: grpc.ServerWritableStream<Msg, Msg>) => call.end(),
    });
    const port = await new Promise<number>((resolve, reject) =>
      failing.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const Ctor = grpc.makeGenericClientConstructor(definition, 'Probe');
    const c = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as ProbeClient;
    try {
      await expect(unary(c, c.Echo, {}, { requestId: 'err-4' })).rejects.toMatchObject({
        errno: 'ENOENT',
        message: 'ENOENT: nothing here (err-4)',
      });
    } finally {
      c.close();
      failing.forceShutdown();
    }
  });
});
