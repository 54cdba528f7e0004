/**
 * The SEAMCALL server (`tdxsim serve`): JSON-lines over stdio or TCP.
 * @see docs/server.md
 */
export { isNonLoopbackHost, serveStdio, serveTcp } from './transports.js';
export type { TcpOptions, TcpServer } from './transports.js';
export { Connection } from './Connection.js';
export { Session } from './Session.js';
export { ServerBudget } from './ServerBudget.js';
export { DEFAULT_LIMITS } from './protocol.js';
export type { ServerLimits } from './protocol.js';
