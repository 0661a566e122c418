/**
 * The protocol's JSON Schemas (protocol/schemas/ws/), imported as modules so that bundlers and the
 * compiled package carry them (tsc copies imported JSON next to the output). Adding a schema file
 * means adding it here; test/unit/codec-schemas.test.ts fails when the folder and this list differ.
 */
import common from '../../protocol/schemas/ws/common.json' with { type: 'json' };
import cAuth from '../../protocol/schemas/ws/client/auth.json' with { type: 'json' };
import cCallqueueRefresh from '../../protocol/schemas/ws/client/callqueue.refresh.json' with { type: 'json' };
import cCallqueueSubscribe from '../../protocol/schemas/ws/client/callqueue.subscribe.json' with { type: 'json' };
import cCallqueueUnsubscribe from '../../protocol/schemas/ws/client/callqueue.unsubscribe.json' with { type: 'json' };
import cEventsSubscribe from '../../protocol/schemas/ws/client/events.subscribe.json' with { type: 'json' };
import cEventsUnsubscribe from '../../protocol/schemas/ws/client/events.unsubscribe.json' with { type: 'json' };
import cHistory from '../../protocol/schemas/ws/client/history.json' with { type: 'json' };
import cPing from '../../protocol/schemas/ws/client/ping.json' with { type: 'json' };
import cPublish from '../../protocol/schemas/ws/client/publish.json' with { type: 'json' };
import cStateSet from '../../protocol/schemas/ws/client/state.set.json' with { type: 'json' };
import cSubscribe from '../../protocol/schemas/ws/client/subscribe.json' with { type: 'json' };
import cUnsubscribe from '../../protocol/schemas/ws/client/unsubscribe.json' with { type: 'json' };
import sAuthenticated from '../../protocol/schemas/ws/server/authenticated.json' with { type: 'json' };
import sCallqueueRefreshed from '../../protocol/schemas/ws/server/callqueue.refreshed.json' with { type: 'json' };
import sCallqueueSnapshot from '../../protocol/schemas/ws/server/callqueue.snapshot.json' with { type: 'json' };
import sCallqueueSubscribed from '../../protocol/schemas/ws/server/callqueue.subscribed.json' with { type: 'json' };
import sCallqueueUnsubscribed from '../../protocol/schemas/ws/server/callqueue.unsubscribed.json' with { type: 'json' };
import sCallqueueUpdate from '../../protocol/schemas/ws/server/callqueue.update.json' with { type: 'json' };
import sError from '../../protocol/schemas/ws/server/error.json' with { type: 'json' };
import sEvent from '../../protocol/schemas/ws/server/event.json' with { type: 'json' };
import sEventsSubscribed from '../../protocol/schemas/ws/server/events.subscribed.json' with { type: 'json' };
import sEventsUnsubscribed from '../../protocol/schemas/ws/server/events.unsubscribed.json' with { type: 'json' };
import sHeartbeat from '../../protocol/schemas/ws/server/heartbeat.json' with { type: 'json' };
import sHistoryResult from '../../protocol/schemas/ws/server/history.result.json' with { type: 'json' };
import sMessage from '../../protocol/schemas/ws/server/message.json' with { type: 'json' };
import sMessages from '../../protocol/schemas/ws/server/messages.json' with { type: 'json' };
import sPong from '../../protocol/schemas/ws/server/pong.json' with { type: 'json' };
import sPublished from '../../protocol/schemas/ws/server/published.json' with { type: 'json' };
import sResync from '../../protocol/schemas/ws/server/resync.json' with { type: 'json' };
import sStateUpdated from '../../protocol/schemas/ws/server/state.updated.json' with { type: 'json' };
import sSubscribed from '../../protocol/schemas/ws/server/subscribed.json' with { type: 'json' };
import sUnsubscribed from '../../protocol/schemas/ws/server/unsubscribed.json' with { type: 'json' };
import sWelcome from '../../protocol/schemas/ws/server/welcome.json' with { type: 'json' };
import clientFrame from '../../protocol/schemas/ws/client-frame.json' with { type: 'json' };
import serverFrame from '../../protocol/schemas/ws/server-frame.json' with { type: 'json' };

/** Path under protocol/schemas/ws/ → schema. */
export const SCHEMA_FILES: ReadonlyArray<readonly [string, object]> = [
  ['common.json', common],
  ['client/auth.json', cAuth],
  ['client/callqueue.refresh.json', cCallqueueRefresh],
  ['client/callqueue.subscribe.json', cCallqueueSubscribe],
  ['client/callqueue.unsubscribe.json', cCallqueueUnsubscribe],
  ['client/events.subscribe.json', cEventsSubscribe],
  ['client/events.unsubscribe.json', cEventsUnsubscribe],
  ['client/history.json', cHistory],
  ['client/ping.json', cPing],
  ['client/publish.json', cPublish],
  ['client/state.set.json', cStateSet],
  ['client/subscribe.json', cSubscribe],
  ['client/unsubscribe.json', cUnsubscribe],
  ['server/authenticated.json', sAuthenticated],
  ['server/callqueue.refreshed.json', sCallqueueRefreshed],
  ['server/callqueue.snapshot.json', sCallqueueSnapshot],
  ['server/callqueue.subscribed.json', sCallqueueSubscribed],
  ['server/callqueue.unsubscribed.json', sCallqueueUnsubscribed],
  ['server/callqueue.update.json', sCallqueueUpdate],
  ['server/error.json', sError],
  ['server/event.json', sEvent],
  ['server/events.subscribed.json', sEventsSubscribed],
  ['server/events.unsubscribed.json', sEventsUnsubscribed],
  ['server/heartbeat.json', sHeartbeat],
  ['server/history.result.json', sHistoryResult],
  ['server/message.json', sMessage],
  ['server/messages.json', sMessages],
  ['server/pong.json', sPong],
  ['server/published.json', sPublished],
  ['server/resync.json', sResync],
  ['server/state.updated.json', sStateUpdated],
  ['server/subscribed.json', sSubscribed],
  ['server/unsubscribed.json', sUnsubscribed],
  ['server/welcome.json', sWelcome],
  ['client-frame.json', clientFrame],
  ['server-frame.json', serverFrame],
];
