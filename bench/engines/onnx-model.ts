// A one-node ONNX model, C = MatMul(A, B), encoded by hand: the ONNX protobuf messages need only
// varints and length-delimited fields, so ~60 lines replace a protobuf dependency.
// Field numbers from onnx/onnx.proto (ModelProto, GraphProto, NodeProto, TensorProto, ValueInfoProto).

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;
const TENSOR_FLOAT = 1; // TensorProto.DataType.FLOAT

class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  private varint(value: number): void {
    const out: number[] = [];
    let v = value;
    while (v >= 0x80) {
      out.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    out.push(v);
    this.push(Uint8Array.from(out));
  }

  int(field: number, value: number): this {
    this.varint(field * 8 + WIRE_VARINT);
    this.varint(value);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.varint(field * 8 + WIRE_BYTES);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

/** ValueInfoProto { name = 1, type = 2 { tensor_type = 1 { elem_type = 1, shape = 2 { dim = 1 { dim_value = 1 } } } } } */
function valueInfo(w: ProtoWriter, name: string, dims: readonly number[]): void {
  w.string(1, name).message(2, (type) =>
    type.message(1, (tensor) =>
      tensor.int(1, TENSOR_FLOAT).message(2, (shape) => {
        for (const d of dims) shape.message(1, (dim) => dim.int(1, d));
      }),
    ),
  );
}

/**
 * ModelProto bytes for C (M×N) = A (M×K) · B (K×N), float32.
 * `b` given: B is an initializer (a weight baked into the model, as a linear layer's weight is);
 * `b` null: B is a second graph input fed on every run.
 */
export function matmulModel(M: number, K: number, N: number, b: Float32Array | null): Uint8Array {
  const model = new ProtoWriter();
  model
    .int(1, 8) // ir_version
    .string(2, 'simdformer-bench') // producer_name
    .message(7, (graph) => {
      graph.message(1, (node) =>
        node.string(1, 'A').string(1, 'B').string(2, 'C').string(3, 'matmul').string(4, 'MatMul'),
      );
      graph.string(2, 'matmul');
      if (b !== null) {
        if (b.length !== K * N) throw new RangeError(`B has ${b.length} elements, expected K·N = ${K * N}`);
        graph.message(5, (t) => {
          t.int(1, K).int(1, N).int(2, TENSOR_FLOAT).string(8, 'B');
          t.bytes(9, new Uint8Array(b.buffer, b.byteOffset, b.byteLength)); // raw_data, little-endian
        });
      }
      graph.message(11, (v) => valueInfo(v, 'A', [M, K]));
      if (b === null) graph.message(11, (v) => valueInfo(v, 'B', [K, N]));
      graph.message(12, (v) => valueInfo(v, 'C', [M, N]));
    })
    .message(8, (opset) => opset.string(1, '').int(2, 17)); // opset_import { domain = "", version = 17 }
  return model.finish();
}
