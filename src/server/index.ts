/**
 * The SEAMCALL server (`tdxsim serve`): JSON-lines over stdio or loopback TCP.
 * @see docs/server.md
 */
export { serveStdio, serveTcp } from './transports.js';
export type { TcpOptions } from './transports.js';
export { Session } from './Session.js';
export { DEFAULT_LIMITS } from './protocol.js';
export type { ServerLimits } from './protocol.js';
