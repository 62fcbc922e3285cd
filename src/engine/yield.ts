// A macrotask turn between decoding steps. ORT web's run() can resolve through
// microtasks only, so a loop of awaits would never let the worker see an incoming
// 'abort' or 'generate' message until the whole generation ends. MessageChannel
// gives a turn without setTimeout's 4 ms clamp; Node uses setImmediate.

let channel: MessageChannel | null = null;
const waiting: (() => void)[] = [];

export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
  if (typeof MessageChannel === 'undefined') return new Promise((r) => setTimeout(r, 0));
  if (!channel) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  return new Promise((r) => {
    waiting.push(r);
    channel!.port2.postMessage(null);
  });
}
