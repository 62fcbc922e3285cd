// The slice of onnxruntime the engine uses. The engine never imports a runtime
// itself: the browser entry hands it onnxruntime-web (the same build transformers.js
// imports) and the Node entry hands it onnxruntime-node. Both implement
// onnxruntime-common's interfaces, so one set of types covers them.
import type { InferenceSession, Tensor } from 'onnxruntime-common';

export type { InferenceSession, Tensor };
export type Feeds = Record<string, Tensor>;
export type Outputs = Record<string, Tensor>;

export interface OrtRuntime {
  Tensor: typeof Tensor;
}

/**
 * Runs a session. The browser's runner races each run against the loss of the GPU
 * device, so a lost device rejects instead of leaving the promise pending forever.
 */
export type SessionRunner = (session: InferenceSession, feeds: Feeds) => Promise<Outputs>;

export const plainRunner: SessionRunner = (session, feeds) => session.run(feeds);

export function int64Tensor(ort: OrtRuntime, values: ArrayLike<number>, dims: number[]): Tensor {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]);
  return new ort.Tensor('int64', data, dims);
}
