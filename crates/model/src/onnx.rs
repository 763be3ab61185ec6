//! The network as an ONNX model, for runtimes that are not this project's (onnxruntime, a
//! browser, a phone, PyTorch through onnx2torch).
//!
//! The graph is the forward pass `infer` computes, one `Gemm` per layer (Y = X·W + b: Burn's
//! `Linear` keeps W as `[inputs, outputs]`, which is Gemm's B without a transpose), the hidden
//! activation after each hidden layer, and the output layer's activation: `Sigmoid` for a run
//! trained with the quadratic cost, `Softmax` over the classes for cross-entropy. Its input
//! `pixels` is `[N, 784]` float32 in 0..1 (as `data::scale_pixel` makes them), N any batch size;
//! its output `outputs` is `[N, classes]`. The model's metadata (`metadata_props`) names the
//! classes in order (`class_names`, a JSON list) and says which outputs these are (`outputs`).
//!
//! Written here, over the ONNX protobuf schema (onnx.proto, IR version 8, opset 18), with no
//! dependency: the graph of a multilayer perceptron is a handful of messages, and a protobuf
//! encoder for them is a page (ARCHITECTURE.md says why not Burn's exporter).

use burn::prelude::*;

use crate::{Activation, Cost, Mlp, ModelError};

/// ONNX IR version 8 (ONNX 1.13 and later read it) with the default operator set 18.
const IR_VERSION: u64 = 8;
const OPSET: u64 = 18;
/// TensorProto.DataType FLOAT.
const FLOAT: u64 = 1;
/// The graph's input and output names.
pub const INPUT: &str = "pixels";
pub const OUTPUT: &str = "outputs";

/// What the exported file says about the network beside its graph.
#[derive(Debug, Clone)]
pub struct OnnxInfo<'a> {
    /// The cost the run trained with: it decides the output layer's activation.
    pub cost: Cost,
    /// The classes' names, in the order of the outputs.
    pub class_names: &'a [String],
    /// A line for the model's description: the run it came from, its shape.
    pub description: String,
}

/// What each output of the exported model is, as the metadata says it.
pub fn outputs_meaning(cost: Cost) -> &'static str {
    match cost {
        Cost::Quadratic => {
            "sigmoid: each output is sigma(z) in 0..1, one per class; the arg-max is the answer"
        }
        Cost::CrossEntropy => {
            "softmax: the outputs are probabilities summing to 1, one per class; the arg-max is \
             the answer"
        }
    }
}

/// The ONNX model (protobuf bytes) of `network`, read back from its device.
pub fn to_onnx(network: &Mlp, info: &OnnxInfo) -> Result<Vec<u8>, ModelError> {
    let sizes = network.sizes();
    let classes = sizes.last().copied().unwrap_or_default();
    if info.class_names.len() != classes {
        return Err(ModelError::ClassNamesDoNotFit {
            names: info.class_names.len(),
            outputs: classes,
        });
    }
    let mut graph = Message::default();
    let mut previous = INPUT.to_string();
    let layers = network.layers.len();
    for (l, layer) in network.layers.iter().enumerate() {
        let (weight, bias) = (format!("layers.{l}.weight"), format!("layers.{l}.bias"));
        let weights = floats(layer.weight.val())?;
        let [inputs, outputs] = layer.weight.dims();
        graph.message(5, &tensor(&weight, &[inputs, outputs], &weights));
        let z = format!("z{}", l + 1);
        let mut gemm_inputs = vec![previous.as_str(), weight.as_str()];
        let biases;
        if let Some(b) = &layer.bias {
            biases = floats(b.val())?;
            graph.message(5, &tensor(&bias, &[outputs], &biases));
            gemm_inputs.push(bias.as_str());
        }
        graph.message(
            1,
            &node("Gemm", &format!("layer{}", l + 1), &gemm_inputs, &z, &[]),
        );
        let last = l + 1 == layers;
        let (op, out) = match (last, info.cost, network.activation) {
            (true, Cost::Quadratic, _) => ("Sigmoid", OUTPUT.to_string()),
            (true, Cost::CrossEntropy, _) => ("Softmax", OUTPUT.to_string()),
            (false, _, Activation::Sigmoid) => ("Sigmoid", format!("a{}", l + 1)),
            (false, _, Activation::Relu) => ("Relu", format!("a{}", l + 1)),
        };
        let axis = [("axis", 1)];
        let attributes: &[(&str, i64)] = if op == "Softmax" { &axis } else { &[] };
        graph.message(
            1,
            &node(op, &format!("activation{}", l + 1), &[&z], &out, attributes),
        );
        previous = out;
    }
    graph.string(2, "digits");
    graph.message(
        11,
        &value_info(INPUT, sizes[0], "the image's pixels, row by row, in 0..1"),
    );
    graph.message(12, &value_info(OUTPUT, classes, outputs_meaning(info.cost)));

    let mut model = Message::default();
    model.varint(1, IR_VERSION);
    model.string(2, "digits");
    model.string(3, env!("CARGO_PKG_VERSION"));
    model.string(6, &info.description);
    model.message(7, &graph);
    let mut opset = Message::default();
    opset.string(1, "");
    opset.varint(2, OPSET);
    model.message(8, &opset);
    // A JSON list: a class's name may hold any character, a comma included.
    let names = serde_json::to_string(info.class_names).unwrap_or_default();
    for (key, value) in [
        ("class_names", names.as_str()),
        ("outputs", outputs_meaning(info.cost)),
        ("input", "pixels [N, 784] float32 in 0..1, row by row"),
    ] {
        let mut entry = Message::default();
        entry.string(1, key);
        entry.string(2, value);
        model.message(14, &entry);
    }
    Ok(model.bytes)
}

fn floats<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, ModelError> {
    (tensor.into_data().convert::<f32>())
        .try_into_vec()
        .map_err(ModelError::Readback)
}

/// A TensorProto holding float32 `values` of shape `dims`, little-endian in `raw_data`.
fn tensor(name: &str, dims: &[usize], values: &[f32]) -> Message {
    let mut t = Message::default();
    for &d in dims {
        t.varint(1, d as u64);
    }
    t.varint(2, FLOAT);
    t.string(8, name);
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    t.bytes(9, &raw);
    t
}

/// A NodeProto of the default domain with integer attributes.
fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    output: &str,
    attributes: &[(&str, i64)],
) -> Message {
    let mut n = Message::default();
    for input in inputs {
        n.string(1, input);
    }
    n.string(2, output);
    n.string(3, name);
    n.string(4, op);
    for &(key, value) in attributes {
        let mut a = Message::default();
        a.string(1, key);
        // AttributeProto.i is int64: a negative value is its two's complement, as a varint.
        a.varint(3, value as u64);
        // AttributeProto.type INT.
        a.varint(20, 2);
        n.message(5, &a);
    }
    n
}

/// A ValueInfoProto of a float32 tensor `[N, width]`, N named and free.
fn value_info(name: &str, width: usize, doc: &str) -> Message {
    let mut batch = Message::default();
    batch.string(2, "N");
    let mut columns = Message::default();
    columns.varint(1, width as u64);
    let mut shape = Message::default();
    shape.message(1, &batch);
    shape.message(1, &columns);
    let mut tensor_type = Message::default();
    tensor_type.varint(1, FLOAT);
    tensor_type.message(2, &shape);
    let mut type_proto = Message::default();
    type_proto.message(1, &tensor_type);
    let mut v = Message::default();
    v.string(1, name);
    v.message(2, &type_proto);
    v.string(3, doc);
    v
}

/// A protobuf message being written: fields in the order given, each a tag and a value.
#[derive(Debug, Default)]
struct Message {
    bytes: Vec<u8>,
}

impl Message {
    fn tag(&mut self, field: u32, wire_type: u8) {
        push_varint(
            &mut self.bytes,
            (u64::from(field) << 3) | u64::from(wire_type),
        );
    }

    fn varint(&mut self, field: u32, value: u64) {
        self.tag(field, 0);
        push_varint(&mut self.bytes, value);
    }

    fn bytes(&mut self, field: u32, value: &[u8]) {
        self.tag(field, 2);
        push_varint(&mut self.bytes, value.len() as u64);
        self.bytes.extend_from_slice(value);
    }

    fn string(&mut self, field: u32, value: &str) {
        self.bytes(field, value.as_bytes());
    }

    fn message(&mut self, field: u32, value: &Message) {
        self.bytes(field, &value.bytes);
    }
}

/// Base-128 varint: seven bits a byte, least significant first, the high bit set on all but
/// the last.
fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MlpConfig;

    #[test]
    fn varints_are_protobufs() {
        let encode = |v: u64| {
            let mut out = Vec::new();
            push_varint(&mut out, v);
            out
        };
        // The examples of protobuf's encoding guide, and a negative int64.
        assert_eq!(encode(1), [0x01]);
        assert_eq!(encode(150), [0x96, 0x01]);
        assert_eq!(encode(300), [0xac, 0x02]);
        assert_eq!(
            encode(-1_i64 as u64),
            [0xff; 9].iter().copied().chain([0x01]).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_model_holds_every_weight_and_names_its_classes() {
        let device = Device::default();
        let network = MlpConfig::new([3]).init_seeded(7, &device);
        let names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
        let info = OnnxInfo {
            cost: Cost::CrossEntropy,
            class_names: &names,
            description: "test".into(),
        };
        let bytes = to_onnx(&network, &info).unwrap();
        for layer in &network.layers {
            let raw: Vec<u8> = floats(layer.weight.val())
                .unwrap()
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            assert!(
                bytes.windows(raw.len()).any(|w| w == raw),
                "a weight matrix is missing"
            );
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(r#"["0","1","2","3","4","5","6","7","8","9"]"#));
        assert!(text.contains("Softmax") && !text.contains("Relu"));
        let few = &names[..4];
        let err = to_onnx(
            &network,
            &OnnxInfo {
                class_names: few,
                ..info
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("4 class names"), "{err}");
    }
}
