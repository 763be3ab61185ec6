//! Integration tests of the `data` crate (one binary: each extra one would link Burn again).

mod files;
mod paper;
mod props;
