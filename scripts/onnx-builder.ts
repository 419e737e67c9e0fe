// A small ONNX graph builder over onnx-proto, for the models this project generates
// (model-repo/ and the test repositories). Output bytes are deterministic.

import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX TensorProto.DataType numbers, keyed by Triton datatype name. */
export const onnxType = {
  FP32: 1, UINT8: 2, INT8: 3, UINT16: 4, INT16: 5, INT32: 6, INT64: 7, BYTES: 8,
  BOOL: 9, FP16: 10, FP64: 11, UINT32: 12, UINT64: 13,
} as const;

export type OnnxTypeName = keyof typeof onnxType;

export interface ValueSpec {
  name: string;
  type: OnnxTypeName;
  /** A number is a fixed size; a string is a named dynamic dimension. */
  shape: Array<number | string>;
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
}

export interface ConstSpec {
  name: string;
  type: 'FP32' | 'INT32';
  dims: number[];
  values: number[];
}

export interface GraphSpec {
  name: string;
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  nodes: NodeSpec[];
  constants?: ConstSpec[];
  opset?: number;
}

function valueInfo(v: ValueSpec) {
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: onnxType[v.type],
        shape: onnx.TensorShapeProto.create({
          dim: v.shape.map((d) =>
            typeof d === 'number'
              ? onnx.TensorShapeProto.Dimension.create({ dimValue: d })
              : onnx.TensorShapeProto.Dimension.create({ dimParam: d }),
          ),
        }),
      }),
    }),
  });
}

export function buildModel(spec: GraphSpec): Uint8Array {
  const initializer = (spec.constants ?? []).map((c) =>
    onnx.TensorProto.create({
      name: c.name,
      dims: c.dims,
      dataType: onnxType[c.type],
      ...(c.type === 'FP32' ? { floatData: c.values } : { int32Data: c.values }),
    }),
  );
  const graph = onnx.GraphProto.create({
    name: spec.name,
    input: spec.inputs.map(valueInfo),
    output: spec.outputs.map(valueInfo),
    initializer,
    node: spec.nodes.map((n, i) =>
      onnx.NodeProto.create({ opType: n.op, input: n.inputs, output: n.outputs, name: n.name ?? `${n.op.toLowerCase()}_${i}` }),
    ),
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'triton-ts/scripts',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: spec.opset ?? 13 })],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** A model whose outputs OUTPUT<i> are Identity of inputs INPUT<i>. */
export function identityModel(name: string, type: OnnxTypeName, shape: Array<number | string>): Uint8Array {
  return buildModel({
    name,
    inputs: [{ name: 'INPUT0', type, shape }],
    outputs: [{ name: 'OUTPUT0', type, shape }],
    nodes: [{ op: 'Identity', inputs: ['INPUT0'], outputs: ['OUTPUT0'] }],
  });
}
