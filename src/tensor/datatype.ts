// Triton datatypes: wire names, config enum numbers, element sizes, ONNX Runtime type
// names and the typed-contents field each one travels in. One table, read everywhere.

export type Datatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

/** Field of InferTensorContents that carries a datatype's typed form; null: raw only. */
export type ContentsField =
  | 'boolContents'
  | 'intContents'
  | 'int64Contents'
  | 'uintContents'
  | 'uint64Contents'
  | 'fp32Contents'
  | 'fp64Contents'
  | 'bytesContents';

export interface DatatypeInfo {
  readonly name: Datatype;
  /** Value of inference.DataType in model_config.proto. */
  readonly configEnum: number;
  /** Bytes per element; 0 for BYTES, whose elements are length-prefixed. */
  readonly byteSize: number;
  /** Tensor type name used by onnxruntime-node. */
  readonly ortType: string;
  readonly contentsField: ContentsField | null;
}

const table: readonly DatatypeInfo[] = [
  { name: 'BOOL', configEnum: 1, byteSize: 1, ortType: 'bool', contentsField: 'boolContents' },
  { name: 'UINT8', configEnum: 2, byteSize: 1, ortType: 'uint8', contentsField: 'uintContents' },
  { name: 'UINT16', configEnum: 3, byteSize: 2, ortType: 'uint16', contentsField: 'uintContents' },
  { name: 'UINT32', configEnum: 4, byteSize: 4, ortType: 'uint32', contentsField: 'uintContents' },
  { name: 'UINT64', configEnum: 5, byteSize: 8, ortType: 'uint64', contentsField: 'uint64Contents' },
  { name: 'INT8', configEnum: 6, byteSize: 1, ortType: 'int8', contentsField: 'intContents' },
  { name: 'INT16', configEnum: 7, byteSize: 2, ortType: 'int16', contentsField: 'intContents' },
  { name: 'INT32', configEnum: 8, byteSize: 4, ortType: 'int32', contentsField: 'intContents' },
  { name: 'INT64', configEnum: 9, byteSize: 8, ortType: 'int64', contentsField: 'int64Contents' },
  { name: 'FP16', configEnum: 10, byteSize: 2, ortType: 'float16', contentsField: null },
  { name: 'FP32', configEnum: 11, byteSize: 4, ortType: 'float32', contentsField: 'fp32Contents' },
  { name: 'FP64', configEnum: 12, byteSize: 8, ortType: 'float64', contentsField: 'fp64Contents' },
  { name: 'BYTES', configEnum: 13, byteSize: 0, ortType: 'string', contentsField: 'bytesContents' },
];

const byName = new Map(table.map((d) => [d.name as string, d]));
const byEnum = new Map(table.map((d) => [d.configEnum, d]));
const byOrt = new Map(table.map((d) => [d.ortType, d]));

export const allDatatypes: readonly DatatypeInfo[] = table;

export function datatypeByName(name: string): DatatypeInfo | undefined {
  return byName.get(name);
}

/** From inference.DataType (TYPE_FP32 = 11, ...). TYPE_BF16 and TYPE_INVALID have no entry. */
export function datatypeByConfigEnum(value: number): DatatypeInfo | undefined {
  return byEnum.get(value);
}

export function datatypeByOrtType(ortType: string): DatatypeInfo | undefined {
  return byOrt.get(ortType);
}

/** Config spelling of a datatype: BYTES is TYPE_STRING there. */
export function configTypeName(d: DatatypeInfo): string {
  return d.name === 'BYTES' ? 'TYPE_STRING' : `TYPE_${d.name}`;
}
