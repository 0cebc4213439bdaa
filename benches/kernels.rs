//! Criterion benches of the GPU kernels (filled in below as ops land).
fn main() {}
