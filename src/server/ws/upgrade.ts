/**
 * The HTTP upgrade of `/v1/ws` (protocol/websocket.md sections 1–2): subprotocol first (HTTP 400
 * unsupported_subprotocol), then the URL credentials are read — and only read. The upgrade is
 * always synchronous: the key or token is checked right after open(), as the first task of the
 * connection's frame chain, so no frame is handled before it and `welcome` follows it. Refused
 * credentials close with 4401 and the reason, which a browser can see (it cannot read an HTTP status).
 *
 * Why not check before upgrading (res.onAborted, then res.cork(() => res.upgrade(...)) once the key
 * lookup resolves)? With the uWS build Holdline runs on, about one connection in a few hundred
 * upgraded that way was dropped (FIN, no close frame) on its first client frame, under load; the
 * synchronous upgrade never was (measured with the resume property, ws-resume-property.test.ts).
 */
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import { chooseSubprotocol } from '../../codec/index.js';
import type { Principal } from '../../codec/index.js';
import { HoldlineError, isHoldlineError } from '../../errors.js';
import type { ErrorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { credentialsFromQuery } from './auth.js';
import type { Credentials } from './auth.js';
import { Connection } from './connection.js';
import type { SocketData } from './connection.js';
import type { WebSocketLimits } from './options.js';

export interface UpgradeDeps {
  limits: WebSocketLimits;
  logger: Logger;
  isShuttingDown(): boolean;
  /** CORS for WebSockets (src/server/cors.ts): may a page of this `Origin` ('' = none) connect? */
  originAllowed?(origin: string, host: string): boolean;
}

function refuse(res: HttpResponse, status: string, code: ErrorCode): void {
  res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(new HoldlineError(code).toBody()));
}

export function createUpgradeHandler(deps: UpgradeDeps): (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => void {
  const { limits, logger } = deps;
  return (res, req, context) => {
    try {
      const choice = chooseSubprotocol(req.getHeader('sec-websocket-protocol'));
      if (choice === null) return refuse(res, '400 Bad Request', 'unsupported_subprotocol');
      if (deps.originAllowed?.(req.getHeader('origin'), req.getHeader('host')) === false) return refuse(res, '403 Forbidden', 'origin_not_allowed');
      if (deps.isShuttingDown()) return refuse(res, '503 Service Unavailable', 'shutting_down');
      const anonymous: Principal = { kind: 'anonymous' };
      let conn: Connection;
      try {
        const credentials: Credentials | null = credentialsFromQuery(req.getQuery() ?? '');
        conn = new Connection(choice.format, limits, anonymous, credentials === null ? { awaitingFirstFrame: true } : { credentials });
      } catch (err) {
        conn = new Connection(choice.format, limits, anonymous, { refused: isHoldlineError(err) ? err.code : 'auth_malformed' });
      }
      const data: SocketData = { conn };
      res.upgrade(data, req.getHeader('sec-websocket-key'), choice.echo ?? '', req.getHeader('sec-websocket-extensions'), context);
    } catch (err) {
      logger.error({ err }, 'ws upgrade failed');
      try {
        refuse(res, '500 Internal Server Error', 'internal');
      } catch {
        // the response is gone
      }
    }
  };
}
