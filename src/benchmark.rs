//! One benchmark, measured in this process under the watchdog, or in a
//! child process of its own (killed at its time limit or the deadline);
//! and the child's side: measure the one benchmark, announce each stage,
//! write the record.

use crate::child::{self, Ended, CHILD_VAR};
use crate::contention::Window;
use crate::filter::Filter;
use crate::frameworks::adapter;
use crate::grid::{Case, Group};
use crate::identities::Status;
use crate::measure::{measure, Bench};
use crate::measurement::StepMetric;
use crate::options::{scratch, WEIGHTS_VAR};
use crate::record::{read_record, remove_record, write_record, Record};
use crate::run::{new_record, short_reason, Run, Summary};
use crate::running;
use crate::watchdog::{timed_out, Watch, Watchdog};
use anyhow::{Context, Result};
use cnn_models::{Graph, Weights};
use criterion::{BenchmarkGroup, Criterion};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How a benchmark's run ended.
#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    /// Its record is filled (measured, or failed with the reason).
    Recorded,
    /// Stopped by the deadline: nothing is recorded, a later run measures it.
    Deadline,
}

/// Weights made once per model: kept in memory for in-process benchmarks,
/// written once to the run's scratch folder for child processes.
#[derive(Default)]
pub(crate) struct SharedWeights {
    memory: Option<(String, Weights)>,
    files: BTreeMap<String, PathBuf>,
}

impl SharedWeights {
    pub(crate) fn in_memory(&mut self, r: &Run, graph: &Graph, model: &str) -> &Weights {
        if self.memory.as_ref().is_none_or(|(m, _)| m != model) {
            self.memory = Some((model.to_string(), Weights::random(graph, r.grid.seed)));
        }
        &self.memory.as_ref().expect("just made").1
    }

    pub(crate) fn file(&mut self, r: &Run, graph: &Graph, model: &str) -> Result<PathBuf> {
        if let Some(p) = self.files.get(model) {
            return Ok(p.clone());
        }
        let dir = scratch(&r.options.run_id);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("weights-{model}-seed{}.safetensors", r.grid.seed));
        if !path.exists() {
            self.in_memory(r, graph, model).write_safetensors(&path)?;
        }
        self.files.insert(model.to_string(), path.clone());
        Ok(path)
    }
}

/// Runs one benchmark in a child process (this binary, `--exact <id>`),
/// killed at its time limit or at the deadline; fills `record` from the
/// child's.
pub(crate) fn in_child(
    r: &Run,
    group: &Group,
    case: &Case,
    record: &mut Record,
    weights: &Path,
    zygote: Option<&Path>,
) -> Outcome {
    let id = group.bench_id(case);
    remove_record(r.out, group, case);
    // Whatever the grid's `isolate` (a benchmark that crashed a run in its
    // process is isolated by the next), and said so where the child fails.
    record.isolated = true;
    let limit = Duration::from_secs_f64(r.grid.time_limit(case.framework));
    let by_limit = Instant::now() + limit;
    let kill_at = r.options.deadline.map_or(by_limit, |d| d.min(by_limit));
    let mut cmd = Command::new(match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return fail(record, format!("locating the bench binary: {e}")),
    });
    cmd.args(Filter::child_args(r.args, &id))
        .env(CHILD_VAR, "1")
        .env(crate::options::RUN_ID_VAR, &r.options.run_id)
        .env(WEIGHTS_VAR, weights)
        .envs(zygote.map(|z| (crate::frameworks::ZYGOTE_VAR, z)))
        .env(
            crate::run_info::RUN_INFO_VAR,
            serde_json::to_string(&r.info).unwrap_or_default(),
        );
    let ended = child::run(cmd, Some(kill_at));
    let by_deadline = kill_at < by_limit;
    if by_deadline && matches!(ended, Ok(Ended::Killed { .. })) {
        eprintln!("cnn-bench: deadline reached while {id} ran; it is not recorded");
        return Outcome::Deadline;
    }
    let stages = ended.as_ref().ok().map(Ended::stages);
    let outcome = settle(ended, limit, || read_record(r.out, group, case), record);
    record.stages = stages;
    outcome
}

/// Fills `record` from how its child process `ended`: the child's own
/// record when it finished and wrote one, a failure with the reason
/// otherwise (a kill at the time limit, a crash, or no record at all).
fn settle(
    ended: Result<Ended>,
    limit: Duration,
    theirs: impl FnOnce() -> Result<Option<Record>>,
    record: &mut Record,
) -> Outcome {
    match ended {
        Ok(Ended::Killed { stage, .. }) => {
            record.timed_out_after = Some(limit.as_secs_f64());
            fail(record, timed_out(limit, &stage))
        }
        Ok(Ended::Finished { .. }) => match theirs() {
            Ok(Some(theirs)) => {
                *record = theirs;
                Outcome::Recorded
            }
            Ok(None) => fail(
                record,
                "the child process exited without writing its record".into(),
            ),
            Err(e) => fail(record, format!("{e:#}")),
        },
        Ok(Ended::Failed { reason, .. }) => fail(record, short_reason(&reason)),
        Err(e) => fail(record, short_reason(&format!("{e:#}"))),
    }
}

fn fail(record: &mut Record, reason: String) -> Outcome {
    record.status = Status::Failed;
    record.reason = Some(reason);
    Outcome::Recorded
}

/// Measures one benchmark in this process under the watchdog, which
/// writes its record to `record_paths` if the time limit stops it; marked
/// as running here ([`crate::running`]) until the caller has written its
/// record.
pub(crate) fn in_process(
    bench_group: &mut BenchmarkGroup<'_, StepMetric>,
    dog: &Watchdog,
    b: &Bench,
    progress: &str,
    record: &mut Record,
    record_paths: Vec<PathBuf>,
    remaining: usize,
) -> Outcome {
    dog.watch(Watch {
        started: Instant::now(),
        limit: Duration::from_secs_f64(b.grid.time_limit(b.case.framework)),
        deadline: b.options.deadline,
        record: record.clone(),
        record_paths,
        marker: running::mark(b.out, b.group, b.case, &b.options.run_id),
        remaining,
        stages: vec![("starting".into(), Instant::now())],
    });
    let mut window = Window::new(b.group.device);
    let outcome = measure(bench_group, b, progress, record, &mut |s| {
        window.stage(s);
        dog.stage(s);
        abort_if_asked(b, s);
    });
    record.stages = dog.clear();
    beside(record, window);
    match outcome {
        Ok(()) => Outcome::Recorded,
        Err(e) => fail(record, short_reason(&format!("{e:#}"))),
    }
}

/// Test only (`CNN_BENCH_ABORT`): ends the process as a crash would, when
/// `stage` of a benchmark it names begins.
fn abort_if_asked(b: &Bench, stage: &str) {
    let id = b.group.bench_id(b.case);
    if b.options.abort.as_ref().is_some_and(|a| a.hits(&id, stage)) {
        eprintln!("cnn-bench {id}: CNN_BENCH_ABORT: aborting while {stage}");
        std::process::abort();
    }
}

/// Records what ran beside the measurement, and says so where it was
/// enough to slow it.
fn beside(record: &mut Record, window: Window) {
    record.other_work = window.finish();
    if let Some(w) = record.other_work.as_ref().filter(|w| w.busy()) {
        eprintln!(
            "cnn-bench {}: measured beside other work: {}; its figure may be slower than this machine's (`{}` in the report)",
            record.id,
            w.said(),
            crate::contention::MARK
        );
    }
}

/// A child process: measures its one benchmark, announcing each stage to
/// the parent, and writes the record.
pub(crate) fn run_as_child(
    c: &mut Criterion<StepMetric>,
    r: &Run,
    selected: Vec<(Group, Case)>,
) -> Result<Summary> {
    let mut summary = Summary::default();
    for (group, case) in selected {
        let graph = cnn_models::model(&group.model)?;
        let weights = match &r.options.weights {
            Some(p) => Weights::from_safetensors(&graph, p)?,
            None => Weights::random(&graph, r.grid.seed),
        };
        let mut record = new_record(r, &group, &case, &graph)?;
        record.isolated = true;
        let mut bench_group = c.benchmark_group(group.id());
        let progress = format!("cnn-bench {}", group.bench_id(&case));
        let fw = adapter(case.framework);
        let b = r.bench(&group, &case, &graph, &weights, fw.as_ref());
        let mut window = Window::new(group.device);
        let outcome = measure(&mut bench_group, &b, &progress, &mut record, &mut |s| {
            window.stage(s);
            child::announce(s);
            abort_if_asked(&b, s);
        });
        bench_group.finish();
        beside(&mut record, window);
        if let Err(e) = outcome {
            fail(&mut record, short_reason(&format!("{e:#}")));
        }
        write_record(r.out, &group, &case, &record)?;
        summary.measured += 1;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Stages;

    #[test]
    fn a_child_that_ends_without_a_record_is_a_failure_not_an_abort() {
        let limit = Duration::from_secs(9);
        let mut r = Record::default();
        assert_eq!(
            settle(
                Ok(Ended::Finished {
                    stages: Stages::default()
                }),
                limit,
                || Ok(None),
                &mut r
            ),
            Outcome::Recorded
        );
        assert_eq!(r.status, Status::Failed);
        assert_eq!(
            r.reason.as_deref(),
            Some("the child process exited without writing its record")
        );
        let mut r = Record::default();
        let theirs = Record {
            status: Status::Ok,
            id: "theirs".into(),
            ..Record::default()
        };
        settle(
            Ok(Ended::Finished {
                stages: Stages::default(),
            }),
            limit,
            || Ok(Some(theirs)),
            &mut r,
        );
        assert_eq!((r.id.as_str(), r.status), ("theirs", Status::Ok));
        let mut r = Record::default();
        let killed = Ended::Killed {
            stage: "preparing".into(),
            stages: Stages::default(),
        };
        settle(Ok(killed), limit, || unreachable!(), &mut r);
        assert_eq!(
            r.reason.as_deref(),
            Some("timed out after 9 s while preparing")
        );
        assert_eq!(r.timed_out_after, Some(9.0));
        let mut r = Record::default();
        let crashed = Ended::Failed {
            reason: "child process exited with status 3; its last output: CUDA out of memory"
                .into(),
            stages: Stages::default(),
        };
        settle(Ok(crashed), limit, || unreachable!(), &mut r);
        assert_eq!(r.status, Status::Failed);
        assert!(r.reason.unwrap().ends_with("CUDA out of memory"));
    }
}
