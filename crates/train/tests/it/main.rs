//! Integration tests of the `train` binary (one test binary: each extra one would link Burn
//! again).

mod cli;
mod props;
mod runs;
mod transfer;
