// A build script, so that Cargo also unifies the features of build dependencies through this
// crate (its `[build-dependencies]`).
fn main() {}
