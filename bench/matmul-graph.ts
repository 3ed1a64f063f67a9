/**
 * A one-node ONNX graph, C = A x B over float32 with free dimensions, written as protobuf bytes here
 * so that measuring this machine's matrix-multiply rate needs no model file and no compiler.
 * Field numbers are those of onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto, TypeProto).
 */

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

function bytesField(field: number, payload: number[] | string): number[] {
  const body = typeof payload === 'string' ? [...Buffer.from(payload, 'utf8')] : payload;
  return [...varint((field << 3) | 2), ...varint(body.length), ...body];
}

function intField(field: number, value: number): number[] {
  return [...varint(field << 3), ...varint(value)];
}

const FLOAT = 1;

function matrix(name: string, rows: string, cols: string): number[] {
  const dim = (param: string) => bytesField(1, bytesField(2, param));
  const shape = bytesField(2, [...dim(rows), ...dim(cols)]);
  const tensorType = bytesField(1, [...intField(1, FLOAT), ...shape]);
  return [...bytesField(1, name), ...bytesField(2, tensorType)];
}

/** Bytes of an ONNX model (IR 8, opset 18) computing `C = MatMul(A, B)`, A [m, k], B [k, n]. */
export function matMulModel(): Uint8Array {
  const node = [
    ...bytesField(1, 'A'),
    ...bytesField(1, 'B'),
    ...bytesField(2, 'C'),
    ...bytesField(4, 'MatMul'),
  ];
  const graph = [
    ...bytesField(1, node),
    ...bytesField(2, 'matmul'),
    ...bytesField(11, matrix('A', 'm', 'k')),
    ...bytesField(11, matrix('B', 'k', 'n')),
    ...bytesField(12, matrix('C', 'm', 'n')),
  ];
  const opset = [...bytesField(1, ''), ...intField(2, 18)];
  return Uint8Array.from([...intField(1, 8), ...bytesField(8, opset), ...bytesField(7, graph)]);
}
