//! What one run is: its grid, filter, arguments, criterion folder, metric,
//! machine facts and options; what it reports at the end; the settings its
//! measurements depend on; and the record each benchmark starts from.

use crate::frameworks::{adapter, Adapter};
use crate::grid::{Case, Grid, Group};
use crate::identities::{Framework, Status};
use crate::measure::{flops_per_step, Bench};
use crate::measurement::Metric;
use crate::options::Options;
use crate::record::{code, MeasuredWith, Record};
use crate::run_info::RunInfo;
use crate::select::Selection;
use anyhow::Result;
use cnn_models::{Graph, Weights};
use std::path::Path;

/// Everything one run needs besides criterion itself.
pub struct Run<'a> {
    pub grid: &'a Grid,
    /// What the filter selects here (made once, by the harness).
    pub selection: &'a Selection,
    /// The bench binary's own arguments, passed on to child processes.
    pub args: &'a [String],
    pub out: &'a Path,
    pub metric: Metric,
    pub info: RunInfo,
    pub options: &'a Options,
    /// criterion leaves the steps untimed (its test or profile mode): each
    /// step runs, nothing is predicted.
    pub untimed: bool,
}

impl<'a> Run<'a> {
    /// One benchmark of this run, ready to measure.
    pub(crate) fn bench(
        &self,
        group: &'a Group,
        case: &'a Case,
        graph: &'a Graph,
        weights: &'a Weights,
        fw: &'a dyn Adapter,
    ) -> Bench<'a> {
        Bench {
            graph,
            weights,
            fw,
            group,
            case,
            grid: self.grid,
            metric: self.metric,
            options: self.options,
            out: self.out,
        }
    }
}

/// What a run did, read back from the records it wrote.
#[derive(Debug, Default)]
pub struct Summary {
    /// Measured by criterion.
    pub measured: usize,
    /// Measured with fewer steps than criterion's minimum (the budget).
    pub estimated: usize,
    pub failed: Vec<(String, String)>,
    /// Measured while other processes kept the machine busy (their ids).
    pub beside_other_work: Vec<String>,
    /// Already recorded with the same settings (resume).
    pub skipped: usize,
    /// Not started before the deadline.
    pub remaining: usize,
    /// Left to other shards.
    pub elsewhere: usize,
}

/// The settings this run measures `framework` with (see [`MeasuredWith`]).
pub fn measured_with(r: &Run, framework: Framework) -> MeasuredWith {
    MeasuredWith {
        code: code(framework).to_string(),
        threads: r.grid.threads,
        seed: r.grid.seed,
        target_seconds: r.grid.target_seconds,
        budget_seconds: r.grid.budget_seconds,
        metric: r.metric,
        step_delay_ms: r.options.step_delay.as_secs_f64() * 1e3,
        malloc: r.grid.malloc,
    }
}

/// The part of an error worth a table cell: its first line (libtorch
/// appends a C++ stack trace), at most 300 characters.
pub fn short_reason(full: &str) -> String {
    let first = full.lines().next().unwrap_or("").trim();
    match first.char_indices().nth(300) {
        Some((cut, _)) => format!("{}...", &first[..cut]),
        None => first.to_string(),
    }
}

pub(crate) fn new_record(r: &Run, group: &Group, case: &Case, graph: &Graph) -> Result<Record> {
    let fw = adapter(case.framework);
    Ok(Record {
        id: group.bench_id(case),
        group: group.clone(),
        case: case.clone(),
        framework_version: fw.version(),
        threads: r.grid.threads,
        seed: Some(r.grid.seed),
        status: Status::Ok,
        isolated: r.grid.isolate.applies(group.device),
        metric: r.metric,
        flops_per_step: flops_per_step(graph, case, group.phase)?,
        settings: Some(measured_with(r, case.framework)),
        run_id: r.options.run_id.clone(),
        run: r.info.clone(),
        ..Record::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_keep_their_first_line_only() {
        let full = "panicked: Torch(\"CUDA out of memory. Tried to allocate 3.12 GiB\nException raised from malloc";
        assert_eq!(
            short_reason(full),
            "panicked: Torch(\"CUDA out of memory. Tried to allocate 3.12 GiB"
        );
        let long = "x".repeat(400);
        assert_eq!(short_reason(&long).len(), 303);
    }
}
