// Adapts the engine worker's client (src/worker/client.ts) to the store's EngineClient.
import type { EngineClient } from '../store/types';

export function createWorkerEngine(): EngineClient {
  throw new Error('the engine worker client is not available yet');
}
