//! The same picture gives the same answer in the API as in `infer IMAGE`: one preprocessing
//! (`data::preprocess`), one prediction path (`model::Predictor`).

use clap::Parser;
use infer::cli::{Output, Shown};

use crate::{call, canvas_png, fixture, post_png, s};

#[tokio::test]
async fn the_api_and_infer_agree_on_the_same_picture() {
    let fx = fixture();
    let tmp = tempfile::tempdir().unwrap();
    for index in [0, 1, 2, 3, 4] {
        let png = canvas_png(index);
        let path = tmp.path().join(format!("digit-{index}.png"));
        std::fs::write(&path, &png).unwrap();
        let mut args = vec![
            "infer".to_string(),
            "--model".into(),
            s(&fx.small()).into(),
            s(&path).into(),
        ];
        args.extend(testkit::backend_args());
        let args = infer::cli::Args::try_parse_from(args).unwrap();
        let Output::Shown(shown) = infer::cli::run(&args).unwrap() else {
            panic!("infer answers for images");
        };
        let Shown::ImageFile {
            answer:
                infer::cli::Answer {
                    prediction,
                    activations,
                    pixels,
                    ..
                },
            ..
        } = &shown.predictions[0]
        else {
            panic!("infer read the picture: {:?}", shown.predictions[0]);
        };

        let reply = call(post_png("/api/predict", png)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let answer: serve::api::Answer = serde_json::from_value(reply.json).unwrap();
        assert_eq!(&answer.input, pixels, "image {index}: the same 28×28 input");
        assert_eq!(answer.prediction, *prediction, "image {index}");
        for (a, b) in answer.outputs.iter().zip(activations) {
            assert!((a - b).abs() < 1e-6, "image {index}: outputs {a} and {b}");
        }
    }
}
