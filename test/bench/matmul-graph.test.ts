import assert from 'node:assert/strict';
import { test } from 'node:test';
import ort from 'onnxruntime-node';
import { matMulModel } from '../../bench/matmul-graph.js';

test('the hand-written MatMul model loads in ONNX Runtime and multiplies matrices of any size', async () => {
  const session = await ort.InferenceSession.create(matMulModel());
  try {
    assert.deepEqual(session.inputNames, ['A', 'B']);
    const a = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    const b = new ort.Tensor('float32', Float32Array.from([7, 8, 9, 10, 11, 12]), [3, 2]);
    const { C } = await session.run({ A: a, B: b });
    assert.ok(C, 'the graph has an output C');
    assert.deepEqual(C.dims, [2, 2]);
    assert.deepEqual([...(C.data as Float32Array)], [58, 64, 139, 154]);
  } finally {
    await session.release();
  }
});
