//! Integration tests of `infer` (one test binary: each extra one would link Burn again).

mod cli;
mod preprocess;
