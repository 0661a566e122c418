/**
 * Socket.IO 4 peer, as its users would write it: rooms for topics, optional Redis adapter for
 * several nodes. `sub <topic>` joins the room and emits `ok`; `pub <topic> <body>` emits `m <body>`
 * to the room. WebSocket transport only (the generator does not long-poll).
 *
 * Usage: node socketio.js <port> [redis-url]   (binds 127.0.0.1 only)
 */
import { createServer } from 'node:http';
import { loadPeer } from '../lib/paths.js';

interface Socket {
  join(room: string): void;
  emit(event: string, ...args: unknown[]): void;
  on(event: string, fn: (...args: never[]) => void): void;
}
interface IoServer {
  on(event: 'connection', fn: (s: Socket) => void): void;
  to(room: string): { emit(event: string, ...args: unknown[]): void };
  adapter(a: unknown): void;
}
type IoCtor = new (srv: unknown, opts: Record<string, unknown>) => IoServer;
type RedisCtor = new (url: string, opts?: Record<string, unknown>) => { duplicate(): unknown };

const port = Number(process.argv[2]);
const redisUrl = process.argv[3];
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: socketio <port> [redis-url]');
  process.exit(2);
}

const { Server } = loadPeer<{ Server: IoCtor }>('socket.io');
const http = createServer();
const io = new Server(http, { transports: ['websocket'], serveClient: false });

if (redisUrl) {
  const Redis = loadPeer<RedisCtor>('ioredis');
  const { createAdapter } = loadPeer<{ createAdapter(pub: unknown, sub: unknown): unknown }>('@socket.io/redis-adapter');
  const pub = new Redis(redisUrl);
  io.adapter(createAdapter(pub, pub.duplicate()));
}

io.on('connection', (socket) => {
  socket.on('sub', (topic: string) => {
    socket.join(topic);
    socket.emit('ok');
  });
  socket.on('pub', (topic: string, body: string) => {
    io.to(topic).emit('m', body);
  });
});

http.listen(port, '127.0.0.1', () => console.log(`socket.io listening on 127.0.0.1:${port}${redisUrl ? ' (redis adapter)' : ''}`));
