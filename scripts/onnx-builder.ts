// A small ONNX graph builder over onnx-proto, for the models this project generates
// (model-repo/ and the test repositories). Output bytes are deterministic.

import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX TensorProto.DataType numbers, keyed by Triton datatype name. */
export const onnxType = {
  FP32: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  BYTES: 8,
  BOOL: 9,
  FP16: 10,
  FP64: 11,
  UINT32: 12,
  UINT64: 13,
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
  /** Integer attributes, e.g. {keepdims: 0}. */
  ints?: Record<string, number>;
  /** Subgraph attributes, e.g. {body: {...}} for Loop. */
  graphs?: Record<string, Omit<GraphSpec, 'opset'>>;
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
            typeof d === 'number' ? onnx.TensorShapeProto.Dimension.create({ dimValue: d }) : onnx.TensorShapeProto.Dimension.create({ dimParam: d }),
          ),
        }),
      }),
    }),
  });
}

function node(n: NodeSpec, i: number): onnxProto.onnx.NodeProto {
  const attribute: onnxProto.onnx.AttributeProto[] = [
    ...Object.entries(n.ints ?? {}).map(([name, v]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v })),
    ...Object.entries(n.graphs ?? {}).map(([name, g]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.GRAPH, g: graph(g) })),
  ];
  return onnx.NodeProto.create({ opType: n.op, input: n.inputs, output: n.outputs, name: n.name ?? `${n.op.toLowerCase()}_${i}`, attribute });
}

function graph(spec: Omit<GraphSpec, 'opset'>): onnxProto.onnx.GraphProto {
  const initializer = (spec.constants ?? []).map((c) =>
    onnx.TensorProto.create({
      name: c.name,
      dims: c.dims,
      dataType: onnxType[c.type],
      ...(c.type === 'FP32' ? { floatData: c.values } : { int32Data: c.values }),
    }),
  );
  return onnx.GraphProto.create({
    name: spec.name,
    input: spec.inputs.map(valueInfo),
    output: spec.outputs.map(valueInfo),
    initializer,
    node: spec.nodes.map(node),
  });
}

export function buildModel(spec: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'triton-ts/scripts',
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: spec.opset ?? 13 })],
    graph: graph(spec),
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

/**
 * A model that takes as long as asked: OUTPUT0 = INPUT0 after SPIN[max] rounds of a
 * Loop (a few µs each). Tests use it to hold a replica busy for a known while.
 */
export function spinModel(): Uint8Array {
  return buildModel({
    name: 'spin',
    inputs: [
      { name: 'SPIN', type: 'INT64', shape: ['batch', 1] },
      { name: 'INPUT0', type: 'FP32', shape: ['batch', 4] },
    ],
    outputs: [{ name: 'OUTPUT0', type: 'FP32', shape: ['batch', 4] }],
    nodes: [
      { op: 'ReduceMax', inputs: ['SPIN'], outputs: ['rounds'], ints: { keepdims: 0 } },
      {
        op: 'Loop',
        inputs: ['rounds', '', 'INPUT0'],
        outputs: ['OUTPUT0'],
        graphs: {
          body: {
            name: 'spin_body',
            inputs: [
              { name: 'i', type: 'INT64', shape: [] },
              { name: 'cond_in', type: 'BOOL', shape: [] },
              { name: 'v_in', type: 'FP32', shape: ['batch', 4] },
            ],
            outputs: [
              { name: 'cond_out', type: 'BOOL', shape: [] },
              { name: 'v_out', type: 'FP32', shape: ['batch', 4] },
            ],
            nodes: [
              { op: 'Identity', inputs: ['cond_in'], outputs: ['cond_out'] },
              { op: 'Identity', inputs: ['v_in'], outputs: ['v_out'] },
            ],
          },
        },
      },
    ],
  });
}

/** OUTPUT0 = INPUT0 + `offset` (FP32 [batch, 4]): versions of one model that answer differently. */
export function addModel(offset: number): Uint8Array {
  return buildModel({
    name: `add_${offset}`,
    inputs: [{ name: 'INPUT0', type: 'FP32', shape: ['batch', 4] }],
    outputs: [{ name: 'OUTPUT0', type: 'FP32', shape: ['batch', 4] }],
    constants: [{ name: 'offset', type: 'FP32', dims: [1], values: [offset] }],
    nodes: [{ op: 'Add', inputs: ['INPUT0', 'offset'], outputs: ['OUTPUT0'] }],
  });
}
