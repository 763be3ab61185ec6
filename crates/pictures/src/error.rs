//! What can stop a picture being drawn.

/// An error drawing a picture.
#[derive(Debug, thiserror::Error)]
pub enum DrawError {
    #[error(
        "the first layer's weights hold {len} values, but {inputs} inputs × {hidden} hidden \
         units need {expected}"
    )]
    WeightsDoNotFit {
        len: usize,
        inputs: usize,
        hidden: usize,
        expected: usize,
    },

    #[error("image {index} has {len} pixels, but an MNIST image has 784")]
    PixelsDoNotFit { index: usize, len: usize },

    #[error("cannot encode the PNG")]
    Encode(#[source] image::ImageError),
}
