import type * as grpc from '@grpc/grpc-js';

/**
 * HTTP/2 receive window for the data node's server. Stock grpc-js servers keep
 * the 64 KiB default, which caps a client-streamed upload (each 64 KiB needs a
 * WINDOW_UPDATE round trip); a window of several messages lets the sender keep
 * the pipe full. Honoured by our patch of @grpc/grpc-js (patches/); ignored
 * (harmless) by an unpatched one.
 */
export const RECEIVE_WINDOW_BYTES = 16 * 1024 * 1024;

export const DATANODE_SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc-node.flow_control_window': RECEIVE_WINDOW_BYTES,
};
