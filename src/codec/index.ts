/**
 * The WebSocket codec (STYLE.md example 4): bytes ↔ typed frames for protocol/websocket.md, in JSON
 * and MessagePack. No I/O; imports nothing from uWS, Redis or pino, so the SDK uses it in browsers.
 */
export * from './frames.js';
export * from './limits.js';
export { decodeClientFrame, decodeServerFrame } from './decode.js';
export type { DecodeOptions, DecodeResult, FrameData } from './decode.js';
export { encodeClientFrame, encodeServerFrame } from './encode.js';
export { frameError, toErrorFrame } from './frame-error.js';
export type { FrameError } from './frame-error.js';
export { compileFrameValidators } from './schemas.js';
