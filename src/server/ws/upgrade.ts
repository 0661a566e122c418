/**
 * The HTTP upgrade of `/v1/ws` (protocol/websocket.md sections 1–2): subprotocol first (HTTP 400
 * unsupported_subprotocol), then URL credentials. Refused credentials still upgrade, and open()
 * closes with 4401 and the reason, because a browser cannot read an HTTP status.
 *
 * The key lookup is asynchronous: headers and query are copied before it, onAborted is registered
 * before going async, and the upgrade itself is corked (STYLE.md example 5).
 */
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import { chooseSubprotocol } from '../../codec/index.js';
import type { Principal } from '../../codec/index.js';
import { ERRORS, HoldlineError, isHoldlineError } from '../../errors.js';
import type { ErrorCode } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { ServerContext } from '../context.js';
import { credentialsFromQuery, principalFor } from './auth.js';
import type { AgentTokenResolver, Credentials } from './auth.js';
import { Connection } from './connection.js';
import type { SocketData } from './connection.js';
import type { WebSocketLimits } from './options.js';

export interface UpgradeDeps {
  ctx: ServerContext;
  limits: WebSocketLimits;
  logger: Logger;
  agentForToken: AgentTokenResolver | undefined;
  isShuttingDown(): boolean;
}

function refuse(res: HttpResponse, status: string, code: ErrorCode): void {
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify(new HoldlineError(code).toBody()));
  });
}

/** The close reason for credentials that did not pass: 4401 codes as they are, others by the catalogue. */
function refusal(err: unknown): ErrorCode {
  return isHoldlineError(err) ? err.code : 'internal';
}

export function createUpgradeHandler(deps: UpgradeDeps): (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => void {
  const { ctx, limits, logger } = deps;
  return (res, req, context) => {
    try {
      // HttpRequest lives only during this call: copy everything needed later.
      const secKey = req.getHeader('sec-websocket-key');
      const extensions = req.getHeader('sec-websocket-extensions');
      const choice = chooseSubprotocol(req.getHeader('sec-websocket-protocol'));
      const query = req.getQuery() ?? '';
      if (choice === null) return refuse(res, '400 Bad Request', 'unsupported_subprotocol');
      if (deps.isShuttingDown()) return refuse(res, '503 Service Unavailable', 'shutting_down');

      const upgrade = (conn: Connection): void => {
        const data: SocketData = { conn };
        res.upgrade(data, secKey, choice.echo ?? '', extensions, context);
      };
      const anonymous: Principal = { kind: 'anonymous' };
      let creds: Credentials | null;
      try {
        creds = credentialsFromQuery(query);
      } catch (err) {
        return upgrade(new Connection(choice.format, limits, anonymous, { refused: refusal(err) }));
      }
      if (creds === null) return upgrade(new Connection(choice.format, limits, anonymous, { awaitingFirstFrame: true }));

      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      principalFor(ctx, creds, deps.agentForToken)
        .then(
          (principal) => new Connection(choice.format, limits, principal),
          (err: unknown) => {
            const code = refusal(err);
            if (ERRORS[code].status >= 500) logger.warn({ err, code }, 'ws: credentials could not be checked');
            return new Connection(choice.format, limits, anonymous, { refused: code });
          },
        )
        .then((conn) => {
          if (aborted) return;
          res.cork(() => upgrade(conn));
        })
        .catch((err: unknown) => logger.error({ err }, 'ws upgrade failed'));
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
