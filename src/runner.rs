//! Runs the grid's benchmarks that the filter lets through: in this
//! process, or each in a child process of its own (GPU ones by default), so
//! that one configuration's cached memory never shows in another's and a
//! crash, a kill or an out-of-memory abort loses only that configuration
//! (in this process, it ends the run: the next run measures that one in a
//! child process, [`crate::running`]).
//!
//! Every benchmark ends with a record: measured, an estimate, or failed with
//! its reason. A benchmark past its time limit is stopped and recorded as
//! failed; a deadline starts only those predicted to finish before it; a
//! resumed run skips what is already recorded; a shard runs every N-th
//! benchmark.

use crate::benchmark::{in_child, in_process, run_as_child, Outcome, SharedWeights};
use crate::filter::saved_baseline;
use crate::frameworks::{adapter, Zygote};
use crate::grid::{Case, Grid, Group};
use crate::identities::Framework;
use crate::measure::flops_per_step;
use crate::measurement::StepMetric;
use crate::options::{scratch, Resume, Shard};
use crate::record::{read_record, record_paths, write_path, MeasuredWith, Record};
use crate::run::{measured_with, new_record, Run, Summary};
use crate::running;
use crate::schedule::{graphs, guess, human, Predictor};
use crate::watchdog::Watchdog;
use anyhow::Result;
use criterion::Criterion;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

pub use crate::record::benchmark_dir;

/// Criterion's output folder (the same rule criterion applies).
pub fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        PathBuf::from(home)
    } else if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        PathBuf::from(target).join("criterion")
    } else {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/criterion"))
    }
}

/// The benchmarks run `r` would measure (its shard's, less what a resumed
/// run skips; how many) without a saved baseline `name` in its folder, by
/// id. criterion's `--baseline NAME` panics at the first of them:
/// in-process, the run stopped there; in a child process, each was
/// recorded as failed over its good record.
pub fn without_baseline(r: &Run, name: &str) -> (Vec<String>, usize) {
    let todo = order(r).todo;
    let missing = todo
        .iter()
        .filter(|(g, k)| {
            !benchmark_dir(r.out, &g.id(), k.framework.name(), &k.parameter())
                .join(name)
                .is_dir()
        })
        .map(|(g, k)| g.bench_id(k))
        .collect();
    (missing, todo.len())
}

/// Sets every framework's CPU thread count; call before any framework runs.
pub fn set_threads(grid: &Grid) -> Result<()> {
    for name in &grid.frameworks {
        adapter(*name).set_threads(grid.threads);
    }
    Ok(())
}

/// Benchmarks every case of the grid that the filter lets through.
pub fn run(c: &mut Criterion<StepMetric>, r: &Run) -> Result<Summary> {
    let selection = r.selection;
    if r.options.child {
        return run_as_child(c, r, selection.cases.clone());
    }
    let total = selection.cases.len();
    // Where each record is written (and, saving a baseline, copied).
    let baseline = saved_baseline(r.args);
    let Order {
        mine,
        todo,
        before,
        mut timed_out,
        ..
    } = order(r).said();
    let Costs {
        graphs,
        flops,
        mut predictor,
        predicted,
    } = costs(r, &todo, &timed_out)?;
    eprintln!("{}", start_line(r, &predicted));
    let dog = Watchdog::start();
    let mut weights = SharedWeights::default();
    let zygote = pytorch_zygote(r, &todo);
    let done_before = mine.len() - todo.len();
    // Benchmarks the deadline held back: those predicted to take longer
    // than the time left are not started, and the run goes on with the
    // next that fits (a slice's tail measures cheaper cells rather than
    // none).
    let mut held_back = 0;
    let mut k = 0;
    'groups: for (group, cases) in by_group(&todo) {
        let graph = &graphs[&group.model];
        let mut bench_group = c.benchmark_group(group.id());
        for case in cases {
            let id = group.bench_id(&case);
            if let Some(left) = r.options.time_left() {
                let here = cost(r, &predictor, &timed_out, &todo[k], flops[k]);
                if here > left.as_secs_f64() {
                    if held_back == 0 {
                        eprintln!(
                            "cnn-bench: deadline: {id} would take about {} and {} are left; not started (the run goes on with those that fit)",
                            human(here),
                            human(left.as_secs_f64())
                        );
                    }
                    held_back += 1;
                    k += 1;
                    continue;
                }
            }
            let progress = format!("cnn-bench [{}/{}] {id}", done_before + k + 1, mine.len());
            if r.untimed {
                eprintln!("{progress}: untimed");
            } else {
                let left: f64 = (k..todo.len())
                    .map(|i| cost(r, &predictor, &timed_out, &todo[i], flops[i]))
                    .sum();
                eprintln!(
                    "{progress}: about {} left in this run (estimate)",
                    human(left)
                );
            }
            let mut record = new_record(r, &group, &case, graph)?;
            let paths = record_paths(r.out, &group, &case, baseline);
            let started = Instant::now();
            // One an earlier run's process ended on while measuring it in
            // itself (a crash, an out-of-memory kill) runs in a child
            // process of its own: such an end is then its recorded
            // failure, not this run's end too.
            let smaller = outgrown(&timed_out, &group, &case);
            let mut isolate = r.grid.isolate.applies(group.device);
            if let Some(m) = (!isolate && smaller.is_none())
                .then(|| running::left(r.out, &group, &case))
                .flatten()
            {
                eprintln!(
                    "{progress}: {}; measured in a child process of its own this time, which records such an end as its failure",
                    m.said()
                );
                isolate = true;
            }
            let ended = if let Some(smaller) = smaller {
                let limit = r.grid.time_limit(case.framework);
                // Not run at all: in no process of its own either.
                record.isolated = false;
                record.status = crate::identities::Status::Failed;
                record.reason = Some(format!(
                    "not run: {} ran past the {limit} s limit, and this configuration is no smaller",
                    smaller.id
                ));
                record.not_run_under = Some(limit);
                Outcome::Recorded
            } else if isolate {
                let w = weights.file(r, graph, &group.model)?;
                let z = zygote.as_ref().map(Zygote::path);
                in_child(r, &group, &case, &mut record, &w, z)
            } else {
                let w = weights.in_memory(r, graph, &group.model);
                let fw = adapter(case.framework);
                let b = r.bench(&group, &case, graph, w, fw.as_ref());
                let remaining = todo.len() - k - 1;
                in_process(
                    &mut bench_group,
                    &dog,
                    &b,
                    &progress,
                    &mut record,
                    paths.clone(),
                    remaining,
                )
            };
            if ended == Outcome::Deadline {
                break 'groups;
            }
            record.wall_seconds = Some(started.elapsed().as_secs_f64());
            if let Some(reason) = &record.reason {
                eprintln!("{progress}: FAILED: {reason}");
            }
            for path in &paths {
                write_path(path, &record)?;
            }
            running::clear(&running::marker_path(r.out, &group, &case));
            if stopped_with(&record, r) {
                timed_out.push(record.clone());
            }
            predictor.learn(record);
            k += 1;
        }
        bench_group.finish();
    }
    if held_back > 0 {
        eprintln!(
            "cnn-bench: deadline: {held_back} benchmark(s) not started, each predicted to take longer than the time left"
        );
    }
    let mut summary = summarise(r, &mine, &before);
    summary.elsewhere = total - mine.len();
    // After the summary: a run that measures nothing keeps its records here.
    let _ = std::fs::remove_dir_all(scratch(&r.options.run_id));
    Ok(summary)
}

/// What the records in a run's folder say its benchmarks will cost.
struct Costs {
    graphs: std::collections::BTreeMap<String, cnn_models::Graph>,
    /// Each benchmark's FLOPs per step, in `todo`'s order.
    flops: Vec<u64>,
    predictor: Predictor,
    /// Each benchmark's predicted seconds, in `todo`'s order.
    predicted: Vec<Cost>,
}

/// A benchmark's predicted seconds, and whether they are a flat guess (no
/// record of its framework, device and phase yet: [`guess`]).
#[derive(Clone, Copy)]
struct Cost {
    secs: f64,
    guessed: bool,
}

fn costs(r: &Run, todo: &[(Group, Case)], timed_out: &[Record]) -> Result<Costs> {
    let graphs = graphs(todo.iter().map(|(g, _)| g))?;
    let flops: Vec<u64> = todo
        .iter()
        .map(|(g, k)| flops_per_step(&graphs[&g.model], k, g.phase))
        .collect::<Result<_>>()?;
    let predictor = Predictor::from_folder(r.out);
    let predicted = todo
        .iter()
        .zip(&flops)
        .map(|(x, f)| match known_cost(r, &predictor, timed_out, x, *f) {
            Some(secs) => Cost {
                secs,
                guessed: false,
            },
            None => Cost {
                secs: guess(r.grid, &x.0),
                guessed: true,
            },
        })
        .collect();
    Ok(Costs {
        graphs,
        flops,
        predictor,
        predicted,
    })
}

/// The run's first line: how many benchmarks it measures and about how
/// long they take ([`Costs::predicted`]).
fn start_line(r: &Run, predicted: &[Cost]) -> String {
    let deadline = r
        .options
        .time_left()
        .map(|t| format!("; deadline in {}", human(t.as_secs_f64())))
        .unwrap_or_default();
    if r.untimed {
        return format!(
            "cnn-bench: {} benchmark(s) to run, each step untimed{deadline}",
            predicted.len()
        );
    }
    let expected: f64 = predicted.iter().map(|c| c.secs).sum();
    let guesses: Vec<f64> = predicted
        .iter()
        .filter(|c| c.guessed)
        .map(|c| c.secs)
        .collect();
    let (low, high) = guesses
        .iter()
        .fold((f64::MAX, 0.0_f64), |(l, h), &g| (l.min(g), h.max(g)));
    format!(
        "cnn-bench: {} benchmark(s) to run, about {} (an estimate from the records in {}{}){}",
        predicted.len(),
        human(expected),
        r.out.display(),
        match guesses.len() {
            0 => String::new(),
            n => format!(
                "; {n} of them guessed at {} each, as nothing like them is recorded there yet",
                if human(low) == human(high) {
                    human(high)
                } else {
                    format!("{} to {}", human(low), human(high))
                }
            ),
        },
        deadline
    )
}

/// `--list`: what run `r` would measure, in its order (stdout, as
/// criterion lists), then on stderr the run's first line and, under a
/// deadline, how many of them the predictions let start before it: the
/// run's own choice, made before anything is measured (a run also learns
/// from each benchmark it measures).
pub fn list(r: &Run) -> Result<()> {
    let Order {
        todo, timed_out, ..
    } = order(r).said();
    for (g, k) in &todo {
        println!("{}: benchmark", g.bench_id(k));
    }
    let predicted = costs(r, &todo, &timed_out)?.predicted;
    eprintln!("{}", start_line(r, &predicted));
    if let Some(left) = r.options.time_left() {
        let (fit, secs) = fitting(predicted.iter().map(|c| c.secs), left.as_secs_f64());
        eprintln!(
            "cnn-bench: deadline: {fit} of these {} are predicted to fit before it, about {} (the run decides as it goes, from what it measures)",
            todo.len(),
            human(secs)
        );
    }
    Ok(())
}

/// How many of benchmarks costing `costs` (in run order) a deadline `left`
/// seconds away lets start, and their seconds: each one predicted to end
/// before it starts, one predicted to end after it is passed over for the
/// next, as the run does.
fn fitting(costs: impl Iterator<Item = f64>, left: f64) -> (usize, f64) {
    let (mut fit, mut used) = (0, 0.0);
    for c in costs {
        if c <= left - used {
            fit += 1;
            used += c;
        }
    }
    (fit, used)
}

/// What a run does with its selection: its shard's benchmarks (`mine`)
/// and, of those, what it measures (`todo`, in order) and what it skips.
pub struct Order {
    pub mine: Vec<(Group, Case)>,
    /// A resumed run measures what was never recorded first, then what was
    /// recorded with older step code or other settings (or failed,
    /// retried): a deadline-bounded slice of GPU time fills the grid before
    /// it refreshes it. Each part keeps the grid's order. `--new-only`
    /// keeps the second part as recorded, for a later run.
    pub todo: Vec<(Group, Case)>,
    /// The ids of those skipped: recorded with these settings, or (with
    /// `--new-only`) recorded at all.
    pub before: BTreeSet<String>,
    /// Records of benchmarks stopped by this run's time limit.
    pub timed_out: Vec<Record>,
    /// How many of `before` `--new-only` keeps though recorded otherwise.
    kept: usize,
    /// How many of `todo` `--retry-busy` measures again though recorded
    /// with these settings.
    busy: usize,
    /// Why each record that could not be read could not: measured again.
    unreadable: Vec<String>,
    /// Why the recorded benchmarks in `todo` are measured again, with how
    /// many of each reason.
    again: BTreeMap<String, usize>,
}

impl Order {
    /// The order, once what it skips is said on stderr.
    fn said(self) -> Order {
        for e in &self.unreadable {
            eprintln!("cnn-bench: warning: {e}");
        }
        let (skipped, mine) = (self.before.len() - self.kept, self.mine.len());
        if skipped > 0 {
            eprintln!(
                "cnn-bench: resume: {skipped} of {mine} benchmark(s) already recorded with these settings are skipped"
            );
        }
        if !self.again.is_empty() {
            let n: usize = self.again.values().sum();
            let why: Vec<String> = self.again.iter().map(|(w, n)| format!("{n} {w}")).collect();
            eprintln!(
                "cnn-bench: resume: {n} of {mine} benchmark(s) recorded otherwise are measured again, after those never recorded: {}",
                why.join("; ")
            );
        }
        if self.busy > 0 {
            eprintln!(
                "cnn-bench: retry busy: {} of {mine} benchmark(s) measured while other work kept the machine busy are measured again",
                self.busy
            );
        }
        if self.kept > 0 {
            eprintln!(
                "cnn-bench: new only: {} of {mine} benchmark(s) recorded otherwise (older step code, other settings, a failure by a shorter time limit) are kept as they are; a run without --new-only measures them again",
                self.kept
            );
        }
        self
    }
}

/// The [`Order`] of run `r`, from the records in its folder
/// (`Order::said` says what it skips).
pub fn order(r: &Run) -> Order {
    // What the run selects: its shard's, where it has one.
    let mine = Shard::of(r.options.shard, r.selection.cases.clone());
    let (mut before, mut todo, mut timed_out) = (BTreeSet::new(), Vec::new(), Vec::new());
    let (mut again, mut kept, mut busy_again) = (Vec::new(), 0, 0);
    let mut again_why: BTreeMap<String, usize> = BTreeMap::new();
    let mut unreadable = Vec::new();
    for (g, k) in &mine {
        let rec = read_record(r.out, g, k).unwrap_or_else(|e| {
            unreadable.push(format!("{e:#}"));
            None
        });
        if let Some(t) = rec.as_ref().filter(|t| stopped_with(t, r)) {
            timed_out.push(t.clone());
        }
        // This run's settings and limit for the benchmark, which the record
        // is held against.
        let (settings, limit) = (
            measured_with(r, k.framework),
            r.grid.time_limit(k.framework),
        );
        match rec {
            Some(rec) if r.options.continuing && rec.run_id == r.options.run_id => {}
            Some(rec) if finished(&rec, r.options.resume, &settings, limit) => {
                if r.options.retry_busy && rec.beside_other_work() {
                    again.push((g.clone(), k.clone()));
                    busy_again += 1;
                } else {
                    before.insert(g.bench_id(k));
                }
            }
            Some(_) if r.options.resume == Resume::NewOnly => {
                before.insert(g.bench_id(k));
                kept += 1;
            }
            Some(rec) if r.options.resume != Resume::No => {
                *again_why
                    .entry(why_again(&rec, &settings, limit))
                    .or_default() += 1;
                again.push((g.clone(), k.clone()));
            }
            _ => todo.push((g.clone(), k.clone())),
        }
    }
    todo.extend(again);
    Order {
        mine,
        todo,
        before,
        timed_out,
        kept,
        busy: busy_again,
        unreadable,
        again: again_why,
    }
}

/// Why a resumed run measures a recorded benchmark again (one that
/// [`finished`] does not end): for the run's first lines, so that a run
/// under settings other than its folder's (another profile, another
/// machine's thread count) says so before it measures everything again.
fn why_again(rec: &Record, settings: &MeasuredWith, limit: f64) -> String {
    match &rec.settings {
        None => "recorded before records kept their settings".into(),
        Some(s) if s.code != settings.code => "of older step code".into(),
        Some(s) => match s.differences(settings)[..] {
            [] if rec.failed_under_a_shorter_limit(limit) => {
                "failed by a shorter time limit than this run's".into()
            }
            [] => "failed (--retry-failed)".into(),
            ref other => format!("under other settings: {}", other.join(", ")),
        },
    }
}

/// The predicted seconds of benchmark `x`, whose step costs `flops`: none
/// for one the time limit already decided (recorded at once, so no
/// deadline holds it back).
fn cost(r: &Run, p: &Predictor, stopped: &[Record], x: &(Group, Case), flops: u64) -> f64 {
    known_cost(r, p, stopped, x, flops).unwrap_or_else(|| guess(r.grid, &x.0))
}

/// [`cost`] where the records say anything of `x`; `None` where it would
/// be a guess.
fn known_cost(
    r: &Run,
    p: &Predictor,
    stopped: &[Record],
    x: &(Group, Case),
    flops: u64,
) -> Option<f64> {
    match outgrown(stopped, &x.0, &x.1) {
        Some(_) => Some(0.0),
        None => p.known(r.grid, &x.0, &x.1, flops).map(|(secs, _)| secs),
    }
}

/// Whether an earlier record ends this benchmark for a resumed run under
/// the time limit `limit`: a failure by a shorter limit does not (a longer
/// one is given to let it finish; burn's kernels compile for minutes in a
/// process's first step on a GPU).
fn finished(rec: &Record, resume: Resume, settings: &MeasuredWith, limit: f64) -> bool {
    let same = rec.settings.as_ref() == Some(settings);
    match resume {
        Resume::No => false,
        Resume::OkOnly => same && rec.status == crate::identities::Status::Ok,
        Resume::Finished | Resume::NewOnly => same && !rec.failed_under_a_shorter_limit(limit),
    }
}

/// A zygote for the run's `pytorch` benchmarks in child processes (see
/// `frameworks::Zygote`); none when there are none, or when it cannot
/// start (said: each child then starts its own Python).
fn pytorch_zygote(r: &Run, todo: &[(Group, Case)]) -> Option<Zygote> {
    let wanted = todo
        .iter()
        .any(|(g, k)| k.framework == Framework::Pytorch && r.grid.isolate.applies(g.device));
    if !wanted {
        return None;
    }
    match Zygote::start(&scratch(&r.options.run_id)) {
        Ok(z) => {
            eprintln!(
                "cnn-bench: pytorch's workers are forked from one Python (torch imported once)"
            );
            Some(z)
        }
        Err(e) => {
            eprintln!("cnn-bench: {e:#}; each pytorch benchmark starts its own Python");
            None
        }
    }
}

/// Whether `rec` was stopped by a time limit at least this run's, measured
/// with this run's settings.
fn stopped_with(rec: &Record, r: &Run) -> bool {
    rec.timed_out_after
        .is_some_and(|l| l >= r.grid.time_limit(rec.case.framework))
        && rec.settings == Some(measured_with(r, rec.case.framework))
}

/// A smaller configuration of this benchmark (the same model, device, phase
/// and framework; size and batch no larger) among `stopped`, the records
/// [`stopped_with`] this run's limit and settings: a step grows with its
/// input, so this one would run past the limit too, and is recorded as
/// failed without spending the limit again.
fn outgrown<'a>(stopped: &'a [Record], group: &Group, case: &Case) -> Option<&'a Record> {
    let id = group.bench_id(case);
    stopped.iter().find(|t| {
        t.id != id
            && t.group == *group
            && t.case.framework == case.framework
            && t.case.size <= case.size
            && t.case.batch <= case.batch
    })
}

/// The run's benchmarks, group by group, in order.
fn by_group(todo: &[(Group, Case)]) -> Vec<(Group, Vec<Case>)> {
    let mut out: Vec<(Group, Vec<Case>)> = Vec::new();
    for (g, k) in todo {
        match out.last_mut() {
            Some((last, cases)) if last == g => cases.push(k.clone()),
            _ => out.push((g.clone(), vec![k.clone()])),
        }
    }
    out
}

/// The summary of this run, from the records it wrote.
fn summarise(r: &Run, mine: &[(Group, Case)], before: &BTreeSet<String>) -> Summary {
    let mut s = Summary {
        skipped: before.len(),
        ..Summary::default()
    };
    for (g, k) in mine {
        let id = g.bench_id(k);
        if before.contains(&id) {
            continue;
        }
        match read_record(r.out, g, k).ok().flatten() {
            Some(rec) if rec.run_id == r.options.run_id => {
                if rec.beside_other_work() {
                    s.beside_other_work.push(id.clone());
                }
                match rec.reason {
                    Some(reason) => s.failed.push((id, reason)),
                    None if rec.estimate.is_some() => s.estimated += 1,
                    None => s.measured += 1,
                }
            }
            _ => s.remaining += 1,
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identities::{Metric, Status};

    #[test]
    fn a_deadline_passes_over_what_does_not_fit_for_what_does() {
        assert_eq!(fitting([5.0, 20.0, 3.0, 3.0].into_iter(), 10.0), (2, 8.0));
        assert_eq!(fitting([5.0, 5.0].into_iter(), 10.0), (2, 10.0));
        assert_eq!(fitting([11.0].into_iter(), 10.0), (0, 0.0));
    }

    fn settings() -> MeasuredWith {
        MeasuredWith {
            code: "abc".into(),
            threads: 2,
            seed: 1,
            target_seconds: 1.0,
            budget_seconds: 60.0,
            metric: Metric::Time,
            step_delay_ms: 0.0,
            malloc: Default::default(),
        }
    }

    /// A record that ended `ok` under `settings`.
    fn ok_with(settings: &MeasuredWith) -> Record {
        Record {
            status: Status::Ok,
            settings: Some(settings.clone()),
            ..Record::default()
        }
    }

    #[test]
    fn resume_keeps_only_results_measured_with_the_same_settings() {
        let settings = settings();
        let ok = ok_with(&settings);
        let failed = Record {
            status: Status::Failed,
            ..ok.clone()
        };
        assert!(finished(&ok, Resume::Finished, &settings, 120.0));
        assert!(finished(&failed, Resume::Finished, &settings, 120.0));
        assert!(finished(&ok, Resume::OkOnly, &settings, 120.0));
        assert!(!finished(&failed, Resume::OkOnly, &settings, 120.0));
        assert!(!finished(&ok, Resume::No, &settings, 120.0));
        let other = MeasuredWith {
            threads: 4,
            ..settings.clone()
        };
        assert!(!finished(&ok, Resume::Finished, &other, 120.0));
        let old = Record {
            settings: None,
            ..ok
        };
        assert!(!finished(&old, Resume::Finished, &settings, 120.0));
    }

    #[test]
    fn a_record_measured_again_says_why() {
        let settings = settings();
        let ok = ok_with(&settings);
        let profile = MeasuredWith {
            threads: 16,
            target_seconds: 5.0,
            ..settings.clone()
        };
        assert_eq!(
            why_again(&ok, &profile, 120.0),
            "under other settings: threads 2 (this run: 16), target 1 s (this run: 5 s)"
        );
        let stopped = Record {
            status: Status::Failed,
            timed_out_after: Some(60.0),
            ..ok.clone()
        };
        assert_eq!(
            why_again(&stopped, &settings, 120.0),
            "failed by a shorter time limit than this run's"
        );
        let failed = Record {
            timed_out_after: None,
            ..stopped
        };
        assert_eq!(
            why_again(&failed, &settings, 120.0),
            "failed (--retry-failed)"
        );
        let old = Record {
            settings: None,
            ..ok.clone()
        };
        assert_eq!(
            why_again(&old, &settings, 120.0),
            "recorded before records kept their settings"
        );
        // A record of older step code than this build's own hash.
        let older = Record {
            settings: Some(MeasuredWith {
                code: "0123456789abcdef".into(),
                ..settings.clone()
            }),
            ..ok
        };
        assert_eq!(why_again(&older, &settings, 120.0), "of older step code");
    }

    #[test]
    fn a_failure_by_a_shorter_limit_is_not_final_under_a_longer_one() {
        let settings = settings();
        let failed = Record {
            status: Status::Failed,
            settings: Some(settings.clone()),
            ..Record::default()
        };
        let stopped = Record {
            timed_out_after: Some(120.0),
            ..failed.clone()
        };
        let not_run = Record {
            not_run_under: Some(120.0),
            ..failed.clone()
        };
        for rec in [&stopped, &not_run] {
            // Under the same limit (or a shorter one), final; under a longer
            // one, measured again.
            assert!(finished(rec, Resume::Finished, &settings, 120.0));
            assert!(finished(rec, Resume::Finished, &settings, 60.0));
            assert!(!finished(rec, Resume::Finished, &settings, 300.0));
        }
        // Another failure (an error, out of memory) does not wait on a limit.
        assert!(finished(&failed, Resume::Finished, &settings, 300.0));
    }
}
