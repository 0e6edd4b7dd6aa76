//! cnn-bench's harness: the grid, one adapter per framework, the inputs, and
//! how criterion is sized for each benchmark.

pub mod benchmark;
pub mod child;
pub mod config;
pub mod contention;
pub mod figures;
pub mod filter;
pub mod frameworks;
pub mod grid;
pub mod harness;
pub mod identities;
pub mod inputs;
pub mod left;
pub mod lock;
pub mod malloc;
pub mod measure;
pub mod options;
pub mod plan;
pub mod publish;
pub mod record;
pub mod report;
pub mod run;
pub mod run_info;
pub mod runner;
pub mod running;
pub mod schedule;
pub mod select;
pub mod watchdog;

/// Exit status for bad input (config, environment, arguments).
pub const USAGE_ERROR: i32 = 2;
pub mod catalogue;
pub mod measurement;
pub mod memory;
