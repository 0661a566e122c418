/**
 * Holdline's WebSocket protocol as the load generator speaks it (protocol/ is the source of truth).
 * TO FILL once the WebSocket server exists: an object implementing WireProtocol from
 * ../lib/protocols.ts, over the raw client in ../lib/wsclient.ts:
 *   - open(ep, localAddress): connect to ws://127.0.0.1:<ep.port>/v1/ws with subprotocol
 *     'holdline.v1.json', authenticate with ep.params.key, resolve when the server accepted;
 *   - subscribe(ws, topic, ep): subscribe to the message queue `topic` (as prepareFanout() named
 *     it), resolve on the server's confirmation;
 *   - publisher(ws, topic, ep): return (body) => ws.send(<publish frame carrying body>);
 *   - keepAlive(ws, data): answer server pings, if the protocol has any at the frame level.
 * The body must reach subscribers byte for byte (the generator finds the `#T…` stamp in it).
 * While this is null, every scenario reports Holdline as "not available".
 */
import type { WireProtocol } from '../lib/protocols.js';

export const holdlineProtocol: WireProtocol | null = null;
