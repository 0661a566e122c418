/**
 * Live call-queue changes from Redis: one subscriber connection, one shard channel per followed
 * queue (SSUBSCRIBE), any number of listeners per channel. The scripts publish inside the change,
 * so messages arrive in seq order.
 *
 * When the connection drops, changes published meanwhile are lost to us: on reconnection every
 * channel is subscribed again and, once that is confirmed, every listener gets `resync` (it then
 * resumes with changesSince from its last seq, or takes a snapshot). Connections are made without
 * ioredis' own auto-resubscribe so that the resync is emitted only after the subscription is back.
 */
import type { Redis } from 'ioredis';
import type { CallQueueEvent, CallQueueListener } from '../call-types.js';
import type { Unsubscribe } from '../types.js';
import { parseChange } from './calls-codec.js';
import { toEngineError } from './connection.js';

interface Channel {
  listeners: Set<CallQueueListener>;
  /** Settles when the SSUBSCRIBE for this channel is confirmed. */
  active: Promise<void>;
}

export class CallQueueSubscriber {
  private readonly channels = new Map<string, Channel>();
  private hadReady = false;

  constructor(private readonly sub: Redis) {
    sub.on('smessage', (channel: string, message: string) => this.deliver(channel, message));
    sub.on('ready', () => {
      if (this.hadReady) void this.resubscribe();
      this.hadReady = true;
    });
  }

  async subscribe(channel: string, listener: CallQueueListener): Promise<Unsubscribe> {
    let ch = this.channels.get(channel);
    if (!ch) {
      const created: Channel = { listeners: new Set(), active: this.ssubscribe(channel) };
      this.channels.set(channel, created);
      created.active.catch(() => {
        if (this.channels.get(channel) === created && created.listeners.size === 0) this.channels.delete(channel);
      });
      ch = created;
    }
    ch.listeners.add(listener);
    try {
      await ch.active;
    } catch (err) {
      ch.listeners.delete(listener);
      if (ch.listeners.size === 0 && this.channels.get(channel) === ch) this.channels.delete(channel);
      throw err;
    }
    const current = ch;
    return async () => {
      current.listeners.delete(listener);
      if (current.listeners.size > 0 || this.channels.get(channel) !== current) return;
      this.channels.delete(channel);
      await this.sub.sunsubscribe(channel).catch(() => undefined);
    };
  }

  private async ssubscribe(channel: string): Promise<void> {
    try {
      await this.sub.ssubscribe(channel);
    } catch (err) {
      throw toEngineError(err);
    }
  }

  private deliver(channel: string, message: string): void {
    const ch = this.channels.get(channel);
    if (!ch || ch.listeners.size === 0) return;
    let event: CallQueueEvent;
    try {
      event = { type: 'change', change: parseChange(message) };
    } catch {
      // Unreadable (never written by our scripts): say a change may be missing rather than throw
      // inside ioredis' event handler.
      event = { type: 'resync' };
    }
    for (const l of ch.listeners) l(event);
  }

  private async resubscribe(): Promise<void> {
    for (const [channel, ch] of this.channels) {
      ch.active = this.ssubscribe(channel);
      try {
        await ch.active;
      } catch {
        // The connection dropped again: the next 'ready' starts over.
        return;
      }
      for (const l of ch.listeners) l({ type: 'resync' });
    }
  }
}
