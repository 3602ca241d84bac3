import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../common/logger';
import { handleUnary } from '../rpc/call';
import { DfsError } from '../rpc/errors';
import type { NameNodeHandlers } from '../rpc/gen/dfs/NameNode';
import type { StatFsReply } from '../rpc/gen/dfs/StatFsReply';
import { nameNodeService } from '../rpc/load';
import { sessionHandler } from '../rpc/session';
import { chunkGranter, type NameNodeSecurity, NODE_METHODS, OPEN } from './auth';
import type { ClassListView, ClassOfView, ClassView, NameNode, StatFsView } from './name-node';
import { toAttr, toChunkInfo, wireCaller, wireInt } from './wire';

/**
 * gRPC handlers of the NameNode service: each translates a message to one
 * NameNode call and its result back; errors travel as DfsError via handleUnary.
 */
export function nameNodeHandlers(nn: NameNode, log: Logger, security: NameNodeSecurity = OPEN): NameNodeHandlers {
  const grant = chunkGranter(security);
  const replication = nn.settings.replication;
  const attr = (i: Parameters<typeof toAttr>[0]) => {
    const { cls } = nn.effectiveClass(i.ino);
    return toAttr(i, cls.replicas.length, cls.name);
  };
  const classInfo = (c: ClassView) => ({ ...c });
  const classList = (l: ClassListView) => ({ classes: l.classes.map(classInfo), patterns: l.patterns });
  const classOf = (c: ClassOfView) => ({ ...c });
  const statFs = (s: StatFsView): StatFsReply => ({ ...s });

  /** Wraps a handler: bugs (non-DfsError throws) are logged with the request id; expected errors only at debug. */
  function h<Req, Res>(name: string, fn: (req: Req) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
    return handleUnary<Req, Res>(async (req) => {
      try {
        return await fn(req);
      } catch (err) {
        const requestId = (req as { caller?: { requestId?: string } | null }).caller?.requestId;
        if (err instanceof DfsError) log.debug({ rpc: name, requestId, err: err.message }, 'request failed');
        else log.error({ rpc: name, requestId, err }, 'request failed unexpectedly');
        throw err;
      }
    });
  }

  const handlers: NameNodeHandlers = {
    // The unary handlers below, called over one stream (src/rpc/session.ts).
    Session: (call) => session(call),
    Lookup: h('Lookup', (r) => attr(nn.lookup(wireCaller(r.caller), wireInt(r.parent, 'parent'), r.name))),
    GetAttr: h('GetAttr', (r) => attr(nn.getAttr(wireInt(r.ino, 'ino')))),
    ResolvePath: h('ResolvePath', (r) => attr(nn.resolvePath(wireCaller(r.caller), r.path, r.followSymlinks))),
    SetAttr: h('SetAttr', async (r) => {
      const changes = {
        mode: r.mode,
        uid: r.uid,
        gid: r.gid,
        size: r.size === undefined ? undefined : wireInt(r.size, 'size'),
        atimeMs: r.atimeMs === undefined ? undefined : wireInt(r.atimeMs, 'atime'),
        mtimeMs: r.mtimeMs === undefined ? undefined : wireInt(r.mtimeMs, 'mtime'),
      };
      return attr(await nn.setAttr(wireCaller(r.caller), wireInt(r.ino, 'ino'), changes));
    }),
    MakeNode: h('MakeNode', async (r) => {
      const { inode, dirs } = await nn.makeNode(
        wireCaller(r.caller),
        wireInt(r.parent, 'parent'),
        r.name,
        r.mode,
        r.rdev,
        r.symlinkTarget,
        r.exclusive,
      );
      return { ...attr(inode), dirChanges: dirs };
    }),
    CreateFile: h('CreateFile', async (r) => {
      const { inode, chunk, dirs } = await nn.createFile(
        wireCaller(r.caller),
        wireInt(r.parent, 'parent'),
        r.name,
        r.mode,
        r.exclusive,
      );
      return {
        attr: attr(inode),
        firstChunk: chunk ? grant(toChunkInfo(chunk), 'write') : undefined,
        dirChanges: dirs,
      };
    }),
    Link: h('Link', async (r) => {
      const caller = wireCaller(r.caller);
      const { inode, dirs } = await nn.link(
        caller,
        wireInt(r.ino, 'ino'),
        wireInt(r.newParent, 'new parent'),
        r.newName,
      );
      return { ...attr(inode), dirChanges: dirs };
    }),
    Unlink: h('Unlink', async (r) => ({
      dirChanges: await nn.unlink(wireCaller(r.caller), wireInt(r.parent, 'parent'), r.name),
    })),
    RemoveDir: h('RemoveDir', async (r) => ({
      dirChanges: await nn.removeDir(wireCaller(r.caller), wireInt(r.parent, 'parent'), r.name),
    })),
    Rename: h('Rename', async (r) => ({
      dirChanges: await nn.rename(
        wireCaller(r.caller),
        wireInt(r.parent, 'parent'),
        r.name,
        wireInt(r.newParent, 'new parent'),
        r.newName,
        r.flags,
      ),
    })),
    ReadDir: h('ReadDir', (r) => {
      const page = nn.readDir(wireCaller(r.caller), wireInt(r.ino, 'ino'), r.after, r.limit);
      return {
        entries: page.entries.map((e) => ({ name: e.name, attr: attr(e.inode) })),
        more: page.more,
        stamp: page.stamp,
      };
    }),
    ReadLink: h('ReadLink', (r) => ({ target: nn.readLink(wireInt(r.ino, 'ino')) })),
    StatFs: h('StatFs', () => statFs(nn.statFs())),
    SetXattr: h('SetXattr', async (r) => {
      await nn.setXattr(wireCaller(r.caller), wireInt(r.ino, 'ino'), r.name, r.value, r.flags);
      return {};
    }),
    GetXattr: h('GetXattr', (r) => ({ value: nn.getXattr(wireCaller(r.caller), wireInt(r.ino, 'ino'), r.name) })),
    ListXattr: h('ListXattr', (r) => ({ names: nn.listXattr(wireCaller(r.caller), wireInt(r.ino, 'ino')) })),
    RemoveXattr: h('RemoveXattr', async (r) => {
      await nn.removeXattr(wireCaller(r.caller), wireInt(r.ino, 'ino'), r.name);
      return {};
    }),
    // Initialize carries no caller in the proto (Empty): the CLI asks for confirmation; the name node logs it.
    Initialize: h('Initialize', async () => statFs(await nn.initialize({ uid: 0, gid: 0, groups: [] }))),

    GetChunks: h('GetChunks', async (r) => {
      const { inode, chunks } = await nn.getChunks(
        wireCaller(r.caller),
        wireInt(r.ino, 'ino'),
        wireInt(r.firstIndex, 'first index'),
        r.count,
      );
      return { attr: attr(inode), chunks: chunks.map((c) => grant(toChunkInfo(c), 'read')), chunkSize: nn.chunkSize };
    }),
    LookupFile: h('LookupFile', async (r) => {
      const caller = wireCaller(r.caller);
      const inode = nn.lookup(caller, wireInt(r.parent, 'parent'), r.name);
      const located = r.chunks > 0 ? await nn.chunksForOpen(caller, inode, r.chunks) : undefined;
      return {
        attr: attr(located?.inode ?? inode),
        chunks: (located?.chunks ?? []).map((c) => grant(toChunkInfo(c), 'read')),
        chunkSize: nn.chunkSize,
      };
    }),
    PrepareWrite: h('PrepareWrite', async (r) =>
      grant(
        toChunkInfo(
          await nn.prepareWrite(wireCaller(r.caller), wireInt(r.ino, 'ino'), wireInt(r.index, 'index'), r.excludeNodes),
        ),
        'write',
      ),
    ),
    ReplacePipelineNode: h('ReplacePipelineNode', async (r) => {
      const res = await nn.replacePipelineNode(
        wireCaller(r.caller),
        wireInt(r.ino, 'ino'),
        wireInt(r.index, 'index'),
        r.chunkId,
        r.failedNode,
        r.survivors,
      );
      return {
        chunk: grant(toChunkInfo(res.chunk), 'write'),
        replacement: res.replacement ?? null,
        hasReplacement: res.replacement !== undefined,
      };
    }),
    CommitWrite: h('CommitWrite', async (r) => {
      const chunks = r.chunks.map((c) => ({
        index: wireInt(c.index, 'chunk index'),
        chunkId: c.chunkId,
        version: wireInt(c.version, 'chunk version'),
        size: wireInt(c.size, 'chunk size'),
        replicas: c.replicas,
      }));
      const inode = await nn.commitWrite(
        wireCaller(r.caller),
        wireInt(r.ino, 'ino'),
        chunks,
        wireInt(r.minSize, 'size'),
        wireInt(r.mtimeMs, 'mtime'),
      );
      return attr(inode);
    }),
    ReportBadReplica: h('ReportBadReplica', async (r) => {
      await nn.reportBadReplica(r.chunkId, wireInt(r.version, 'version'), r.nodeId, r.reason);
      return {};
    }),

    ClusterStatus: h('ClusterStatus', () => {
      const { underReplicated, missing, corrupt } = nn.countProblems();
      const live = new Set(nn.registry.live().map((n) => n.id));
      const nodes = nn.registry.all().map((n) => ({
        id: n.id,
        address: n.address,
        live: live.has(n.id),
        used: n.used,
        capacity: n.capacity,
        chunks: nn.store.state.chunks.onNode(n.id).size,
        lastHeartbeatMs: n.lastHeartbeatMs,
        labels: n.labels,
        state: nn.nodeState(n.id),
        decommissionRemaining: nn.drains.state(n.id) === 'decommissioning' ? nn.replication.remainingOn(n.id) : 0,
      }));
      const fs = nn.statFs();
      return {
        nodes,
        capacity: fs.capacity,
        used: fs.used,
        files: fs.files,
        chunks: nn.store.state.chunks.size,
        underReplicated,
        missing,
        safeMode: nn.inSafeMode(),
        secured: security.keys !== undefined,
        replication,
        chunkSize: nn.chunkSize,
        corrupt,
        replicationQueue: nn.replication.queued,
      };
    }),
    Fsck: h('Fsck', (r) => {
      const res = nn.fsck(wireCaller(r.caller), r.path);
      return { ...res, healthy: res.problems.length === 0 };
    }),
    Decommission: h('Decommission', (r) => ({ nodes: nn.decommission(r.nodeIds, r.cancel) })),
    Balance: h('Balance', (r) => {
      if (!Number.isFinite(r.band) || r.band < 0 || r.band > 100) {
        throw new DfsError('EINVAL', `balance band must be 0-100 percent points, not ${r.band}`);
      }
      const s = nn.balance(r.start, r.band / 100);
      const pct = (f: number) => Math.round(f * 10_000) / 100;
      return {
        ...s,
        band: pct(s.band),
        spread: pct(s.spread),
        nodes: s.nodes.map((n) => ({ ...n, utilization: pct(n.utilization) })),
      };
    }),

    CreateClass: h('CreateClass', async (r) => classInfo(await nn.createClass(r.name, r.replicas, r.replace))),
    DeleteClass: h('DeleteClass', async (r) => {
      await nn.deleteClass(r.name);
      return {};
    }),
    ListClasses: h('ListClasses', () => classList(nn.listClasses())),
    SetClassPattern: h('SetClassPattern', async (r) =>
      classList(await nn.setClassPattern(r.pattern, r.className === '' ? null : r.className)),
    ),
    SetClass: h('SetClass', async (r) =>
      classOf(await nn.setClass(wireCaller(r.caller), r.path, r.className === '' ? null : r.className, r.recursive)),
    ),
    GetClass: h('GetClass', (r) => classOf(nn.classOf(wireCaller(r.caller), r.path))),

    Register: h('Register', (r) =>
      nn.register(
        {
          id: r.id,
          address: r.address,
          capacity: wireInt(r.capacity, 'capacity'),
          used: wireInt(r.used, 'used'),
          labels: r.labels,
        },
        r.chunks.map((c) => ({
          chunkId: c.chunkId,
          version: wireInt(c.version, 'version'),
          size: wireInt(c.size, 'size'),
        })),
      ),
    ),
    Heartbeat: h('Heartbeat', (r) => ({
      reregister: !nn.heartbeat(r.id, wireInt(r.used, 'used'), wireInt(r.capacity, 'capacity'), r.activeStreams),
    })),
    ChunkReport: h('ChunkReport', async (r) => {
      await nn.chunkReport(
        r.id,
        r.chunks.map((c) => ({
          chunkId: c.chunkId,
          version: wireInt(c.version, 'version'),
          size: wireInt(c.size, 'size'),
        })),
        r.badChunks,
      );
      return {};
    }),
  };
  const session = sessionHandler(nameNodeService().NameNode.service, handlers, NODE_METHODS, log, 'name node');
  return handlers;
}
