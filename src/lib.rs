//! cnn-bench's harness: the grid, one adapter per framework, the inputs, and
//! how criterion is sized for each benchmark.

pub mod frameworks;
pub mod grid;
pub mod inputs;
pub mod plan;
