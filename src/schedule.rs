//! How long a benchmark will take, predicted from the records already in
//! criterion's folder: for the progress lines' time remaining and for the
//! deadline, which starts a benchmark only when it is predicted to finish
//! in time. A prediction is an estimate; the time limit and the deadline's
//! kill bound what it gets wrong, and `Predictor::accuracy` measures it
//! on the records themselves (`report --grid` prints it).

use crate::grid::{Case, Grid, Group};
use crate::identities::Framework;
use crate::plan::{estimate_steps, plan};
use crate::record::Record;
use anyhow::Result;
use cnn_models::graph::Op;
use cnn_models::Graph;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

/// What the harness knows of past benchmarks' durations.
#[derive(Default)]
pub struct Predictor {
    seen: Vec<Record>,
}

/// Guess for a framework nothing is known of yet, in a process of its own
/// (GPU benchmarks by default): the process's start and its preparation
/// (model, CUDA's context, first steps), in seconds, added to the target.
/// On an H200 tch's took 4.6 s, PyTorch's 17, burn's 22 (status.txt).
pub(crate) const UNKNOWN_OVERHEAD_S: f64 = 10.0;

/// The same for one measured in the harness's process (CPU benchmarks by
/// default): preparation, criterion's warm-up and analysis. At a 1 s
/// target the quick profile's took 1.6-3.2 s on 2 Zen 5 cores, 2.7-4.0 s
/// on 2 Xeon cores (medians per framework).
pub(crate) const UNKNOWN_OVERHEAD_IN_PROCESS_S: f64 = 2.0;

/// What a benchmark stopped by its time limit takes beyond the limit: the
/// child's start before its clock, the kill and the record.
pub(crate) const AROUND_THE_LIMIT_S: f64 = 5.0;

impl Predictor {
    /// Every record under criterion's folder `out` that says how long its
    /// benchmark took.
    pub fn from_folder(out: &Path) -> Self {
        let mut p = Predictor::default();
        let dirs = |d: &Path| -> Vec<std::path::PathBuf> {
            std::fs::read_dir(d)
                .map(|r| {
                    r.flatten()
                        .map(|e| e.path())
                        .filter(|p| p.is_dir())
                        .collect()
                })
                .unwrap_or_default()
        };
        for group in dirs(out) {
            for function in dirs(&group) {
                for bench in dirs(&function) {
                    let Ok(text) = std::fs::read_to_string(bench.join("cnn-bench.json")) else {
                        continue;
                    };
                    if let Ok(r) = serde_json::from_str::<Record>(&text) {
                        p.learn(r);
                    }
                }
            }
        }
        p
    }

    /// Keeps only the records `keep` says.
    pub(crate) fn retain(&mut self, keep: impl Fn(&Record) -> bool) {
        self.seen.retain(keep);
    }

    /// Adds a finished benchmark's record.
    pub fn learn(&mut self, r: Record) {
        if r.wall_seconds.is_some() {
            self.seen.retain(|s| s.id != r.id);
            self.seen.push(r);
        }
    }

    /// Predicted seconds for `case` of `group`, whose step costs `flops`.
    /// Records of this build's step code are preferred where the framework
    /// has any: older code may have cost more around the step (pytorch's
    /// workers before the zygote: 17 s a cell, then 6).
    pub fn predict(&self, grid: &Grid, group: &Group, case: &Case, flops: u64) -> f64 {
        self.known(grid, group, case, flops)
            .map_or_else(|| guess(grid, group), |(secs, _)| secs)
    }

    /// [`Predictor::predict`] where the records say anything of `case`, and
    /// which records; `None` where the prediction would be a guess.
    pub(crate) fn known(
        &self,
        grid: &Grid,
        group: &Group,
        case: &Case,
        flops: u64,
    ) -> Option<(f64, Basis)> {
        self.known_without(grid, group, case, flops, &|_| false)
    }

    /// Whether a prediction for `case` rests on records of this build's step
    /// code (its framework, device and phase have any); else on older
    /// code's, whose overhead may differ (pytorch's before its zygote).
    pub(crate) fn of_this_build(&self, group: &Group, case: &Case) -> bool {
        self.seen
            .iter()
            .filter(|r| alike(r, group, case))
            .any(current)
    }

    /// [`Predictor::known`] from the records `skip` leaves.
    fn known_without(
        &self,
        grid: &Grid,
        group: &Group,
        case: &Case,
        flops: u64,
        skip: &dyn Fn(&Record) -> bool,
    ) -> Option<(f64, Basis)> {
        let alike = |r: &&Record| alike(r, group, case) && !skip(r);
        let fresh = self.seen.iter().filter(alike).any(current);
        let usable = |r: &&Record| !fresh || current(r);
        let id = group.bench_id(case);
        if let Some(r) = self
            .seen
            .iter()
            .filter(|r| !skip(r))
            .filter(usable)
            .find(|r| r.id == id)
        {
            return Some((r.wall_seconds.unwrap_or_default(), Basis::ThisBenchmark));
        }
        // The same framework, device and phase at the nearest cost, of the
        // same model where it has any, else of a model that has grouped
        // (depthwise) convolutions as this one has or has not: its
        // overhead, and its step scaled to this one's FLOPs and kernels.
        let cost = |r: &&Record| (r.flops_per_step as f64 / flops.max(1) as f64).ln().abs();
        let framework: Vec<&Record> = self.seen.iter().filter(alike).filter(usable).collect();
        let of_model = |models: &dyn Fn(&str) -> bool| -> Vec<&Record> {
            let mut v: Vec<&Record> = framework
                .iter()
                .copied()
                .filter(|r| models(&r.group.model))
                .collect();
            v.sort_by(|a, b| cost(a).total_cmp(&cost(b)));
            v
        };
        let same = of_model(&|m| m == group.model);
        let (nearest, basis, exponent) = if let Some(&r) = same.first() {
            let local = exponent(same.iter().take(NEIGHBOURS).map(|r| step_point(r)));
            (
                r,
                Basis::ThisModel,
                local.or_else(|| pooled_exponent(&framework)),
            )
        } else {
            let grouped = grouped_convolutions(&group.model);
            let (r, basis) = of_model(&|m| grouped_convolutions(m) == grouped)
                .first()
                .map(|&r| (r, Basis::OtherModel))
                .or_else(|| {
                    of_model(&|_| true)
                        .first()
                        .map(|&r| (r, Basis::UnlikeModel))
                })?;
            (r, basis, pooled_exponent(&framework))
        };
        // No spread of FLOPs to learn from: the step scales with them.
        let p = exponent.unwrap_or(1.0);
        let first = nearest.first_step_seconds.unwrap_or_default();
        let overhead = (nearest.wall_seconds.unwrap_or_default()
            - nearest.measure_seconds.unwrap_or_default()
            - 2.0 * first)
            .max(0.0);
        let kernels = |model: &str| kernels_per_step(model, case.framework);
        let kernel_ratio = match (kernels(&group.model), kernels(&nearest.group.model)) {
            (Some(here), Some(there)) => here as f64 / there as f64,
            _ => 1.0,
        };
        let step = first
            * (flops as f64 / nearest.flops_per_step as f64).powf(p)
            * kernel_ratio.powf(1.0 - p);
        // No more than the time limit (and the few seconds around the
        // child it bounds): the limit stops the benchmark there.
        let secs = (overhead + 2.0 * step + measuring(grid, step))
            .min(grid.time_limit(case.framework) + AROUND_THE_LIMIT_S);
        Some((secs, basis))
    }

    /// How far the predictions are from what the recorded benchmarks took
    /// (their wall time): each one that ended `ok` predicted from the
    /// others, with `basis` [`Basis::ThisModel`] from its model's other
    /// records, or else from other models' records only (as a model with
    /// no record yet is); records of older step code only where their
    /// framework has none of this build's. `None` where no record could be
    /// predicted.
    pub(crate) fn accuracy(&self, grid: &Grid, basis: Basis) -> Option<Accuracy> {
        // The columns (framework, device, phase) with this build's records.
        let fresh: Vec<_> = self
            .seen
            .iter()
            .filter(|o| current(o))
            .map(Record::column)
            .collect();
        let mut ratios = Vec::new();
        for r in &self.seen {
            let Some(wall) = r.wall_seconds.filter(|w| *w > 0.0) else {
                continue;
            };
            if r.status != crate::identities::Status::Ok || r.flops_per_step == 0 {
                continue;
            }
            // As a prediction prefers this build's step code, so does its
            // check: older code's times (pytorch's workers before the
            // zygote) say nothing of what the next run takes.
            if !current(r) && fresh.contains(&r.column()) {
                continue;
            }
            // Nor does it predict this build's from older code's records
            // (a run would have this one).
            let skip = |o: &Record| {
                o.id == r.id
                    || (basis != Basis::ThisModel && o.group.model == r.group.model)
                    || (current(r) && !current(o))
            };
            // Predicted as measured: under the record's own target and
            // budget, where it says them (a grid of other settings would
            // check the settings' difference, not the prediction).
            let own = r.settings.as_ref().map(|s| Grid {
                target_seconds: s.target_seconds,
                budget_seconds: s.budget_seconds,
                ..grid.clone()
            });
            let grid = own.as_ref().unwrap_or(grid);
            let known = self.known_without(grid, &r.group, &r.case, r.flops_per_step, &skip);
            if let Some((secs, b)) = known {
                if (b == Basis::ThisModel) == (basis == Basis::ThisModel) {
                    ratios.push(secs / wall);
                }
            }
        }
        Accuracy::of(ratios)
    }
}

/// How far predictions were from the times they predicted.
#[derive(Clone, Debug, PartialEq)]
pub struct Accuracy {
    /// How many benchmarks were predicted.
    pub count: usize,
    /// The median factor between a prediction and the time (1.2: 20% over
    /// or under).
    pub median: f64,
    /// The factor 90% of the predictions are within.
    pub p90: f64,
    /// How many predicted less than two thirds of the time (those a
    /// deadline may start too late).
    pub under: usize,
}

impl Accuracy {
    /// From each prediction's ratio to the time it predicted.
    fn of(ratios: Vec<f64>) -> Option<Self> {
        let mut off: Vec<f64> = ratios.iter().map(|r| r.max(1.0 / r)).collect();
        off.sort_by(f64::total_cmp);
        let at = |q: f64| off[((off.len() - 1) as f64 * q).round() as usize];
        (!off.is_empty()).then(|| Accuracy {
            count: off.len(),
            median: at(0.5),
            p90: at(0.9),
            under: ratios.iter().filter(|r| **r < 2.0 / 3.0).count(),
        })
    }
}

/// How many of a model's records nearest in FLOPs its own exponent is
/// fitted to: a step's growth with its FLOPs changes along the grid (a
/// GPU step is bound by kernel launches at batch 1, by arithmetic at 32).
const NEIGHBOURS: usize = 4;

/// A record of this build's step code.
fn current(r: &Record) -> bool {
    r.this_step_code() == Some(true)
}

/// A timed record of `case`'s column (framework, device, phase), which a
/// prediction for it can scale.
fn alike(r: &Record, group: &Group, case: &Case) -> bool {
    r.same_column(group, case) && r.first_step_seconds.is_some() && r.flops_per_step > 0
}

/// A record's step as (ln FLOPs, ln seconds).
fn step_point(r: &Record) -> (f64, f64) {
    (
        (r.flops_per_step.max(1) as f64).ln(),
        r.first_step_seconds.unwrap_or_default().max(1e-9).ln(),
    )
}

/// How a step's time grows with its FLOPs, `t ~ FLOPs^p`: the slope of
/// ln time on ln FLOPs by least squares, held to 0 (bound by launches and
/// overhead) ..= 1 (by arithmetic). `None` without a spread of FLOPs.
fn exponent(points: impl Iterator<Item = (f64, f64)>) -> Option<f64> {
    let points: Vec<(f64, f64)> = points.collect();
    let (mx, my) = means(&points);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 1e-12).then(|| (sxy / sxx).clamp(0.0, 1.0))
}

/// The exponent over a framework's records of every model, each model's
/// points taken about its own means (models differ in time per FLOP; how
/// time grows with FLOPs within a model is what carries over to another).
fn pooled_exponent(records: &[&Record]) -> Option<f64> {
    let mut by_model: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for r in records {
        by_model
            .entry(r.group.model.as_str())
            .or_default()
            .push(step_point(r));
    }
    let centred = by_model.into_values().flat_map(|points| {
        let (mx, my) = means(&points);
        points.into_iter().map(move |(x, y)| (x - mx, y - my))
    });
    exponent(centred)
}

/// The means of the points' two coordinates.
fn means(points: &[(f64, f64)]) -> (f64, f64) {
    let n = points.len() as f64;
    points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.0 / n, y + p.1 / n))
}

/// Which records a prediction comes from (the framework's, on the same
/// device and phase).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Basis {
    /// This benchmark's own earlier record.
    ThisBenchmark,
    /// Another configuration of the same model, scaled by the FLOPs.
    ThisModel,
    /// Another model's, scaled by the FLOPs: rough, as a step's cost per
    /// FLOP differs between models.
    OtherModel,
    /// Another model's, unlike this one in having grouped (depthwise)
    /// convolutions or not: rougher still (candle's depthwise steps cost
    /// about a hundred times its resnets' per FLOP).
    UnlikeModel,
}

/// What a prediction needs of a model's graph, built once per process.
#[derive(Clone, Copy)]
struct Kernels {
    /// Its nodes: about one kernel each.
    nodes: usize,
    /// Its nodes with a grouped convolution counted once per group.
    per_group: usize,
}

/// `model`'s [`Kernels`]; `None` for a name cnn-models does not know.
fn kernels(model: &str) -> Option<Kernels> {
    static SEEN: Mutex<BTreeMap<String, Option<Kernels>>> = Mutex::new(BTreeMap::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&known) = seen.get(model) {
        return known;
    }
    let k = cnn_models::model(model).ok().map(|graph| Kernels {
        nodes: graph.nodes.len(),
        per_group: graph
            .nodes
            .iter()
            .map(|n| match &n.op {
                Op::Conv2d(c) => c.groups.max(1),
                _ => 1,
            })
            .sum(),
    });
    seen.insert(model.to_string(), k);
    k
}

/// Whether `model` has grouped (depthwise) convolutions; `None` for a name
/// cnn-models does not know.
fn grouped_convolutions(model: &str) -> Option<bool> {
    kernels(model).map(|k| k.per_group > k.nodes)
}

/// About how many kernels `framework` runs for `model`'s step, up to a
/// factor common to all models: a node each, but candle (and so
/// candle-transformers) runs a grouped convolution as one convolution per
/// group (huggingface/candle#3389), so a step of its depthwise networks is
/// thousands of kernels, bound by their launches, not by the FLOPs.
fn kernels_per_step(model: &str, framework: Framework) -> Option<usize> {
    let k = kernels(model)?;
    Some(match framework {
        Framework::Candle | Framework::CandleTransformers => k.per_group,
        _ => k.nodes,
    })
}

/// The graph of each model among `groups`, built once: for the FLOPs a
/// prediction scales by, and for the run. (Not in measure.rs, whose text is
/// part of every framework's step-code hash.)
pub fn graphs<'a>(groups: impl IntoIterator<Item = &'a Group>) -> Result<BTreeMap<String, Graph>> {
    let mut out = BTreeMap::new();
    for g in groups {
        if !out.contains_key(&g.model) {
            out.insert(g.model.clone(), cnn_models::model(&g.model)?);
        }
    }
    Ok(out)
}

/// The prediction for a framework, device and phase nothing is known of,
/// in `group`.
pub(crate) fn guess(grid: &Grid, group: &Group) -> f64 {
    grid.target_seconds
        + if grid.isolate.applies(group.device) {
            UNKNOWN_OVERHEAD_S
        } else {
            UNKNOWN_OVERHEAD_IN_PROCESS_S
        }
}

/// Seconds of measurement for a step of `step` seconds: criterion's plan,
/// or the budget's steps (the first timed step is one of them).
pub fn measuring(grid: &Grid, step: f64) -> f64 {
    if let Some(steps) = estimate_steps(step, grid.budget_seconds) {
        return (steps - 1) as f64 * step;
    }
    let p = plan(
        Duration::from_secs_f64(step),
        Duration::from_secs_f64(grid.target_seconds),
    );
    // Criterion's analysis and files: about half a second.
    let samples = if p.flat {
        p.sample_size as f64 * step
    } else {
        0.0
    };
    p.warm_up.as_secs_f64() + p.measurement.as_secs_f64().max(samples) + 0.5
}

/// `secs` as `1 h 02 min`, `12 min 05 s` or `42 s`.
pub fn human(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::grid::{Device, Phase};

    pub(crate) fn grid() -> Grid {
        Grid {
            models: vec!["resnet18".into()],
            sizes: vec![224],
            batches: vec![1],
            frameworks: vec![crate::identities::Framework::Tch],
            runs: vec![(Device::Gpu(0), Phase::Train)],
            threads: 1,
            seed: 1,
            target_seconds: 1.0,
            budget_seconds: 20.0,
            time_limit_seconds: 100.0,
            time_limit_by_framework: Default::default(),
            isolate: crate::grid::Isolate::Gpu,
            malloc: Default::default(),
        }
    }

    pub(crate) fn rec(
        id: &str,
        framework: &str,
        flops: u64,
        first: f64,
        measure: f64,
        wall: f64,
    ) -> Record {
        Record {
            id: id.into(),
            group: Group {
                device: Device::Gpu(0),
                phase: Phase::Train,
                ..Group::default()
            },
            case: Case {
                framework: crate::identities::Framework::parse(framework).unwrap(),
                ..Case::default()
            },
            flops_per_step: flops,
            first_step_seconds: Some(first),
            measure_seconds: Some(measure),
            wall_seconds: Some(wall),
            ..Record::default()
        }
    }

    /// [`grid`]'s settings, with step code `code`.
    pub(crate) fn with(code: &str) -> crate::record::MeasuredWith {
        crate::record::MeasuredWith {
            code: code.into(),
            threads: 1,
            seed: 1,
            target_seconds: 1.0,
            budget_seconds: 20.0,
            metric: Default::default(),
            step_delay_ms: 0.0,
            malloc: Default::default(),
        }
    }

    #[test]
    fn a_guess_allows_a_process_of_its_own_more_than_the_harnesss() {
        let mut g = grid();
        let gpu = g.groups()[0].clone();
        assert_eq!(guess(&g, &gpu), 1.0 + UNKNOWN_OVERHEAD_S);
        let cpu = Group {
            device: Device::Cpu,
            ..gpu
        };
        assert_eq!(guess(&g, &cpu), 1.0 + UNKNOWN_OVERHEAD_IN_PROCESS_S);
        g.isolate = crate::grid::Isolate::All;
        assert_eq!(guess(&g, &cpu), 1.0 + UNKNOWN_OVERHEAD_S);
    }

    #[test]
    fn a_known_benchmark_takes_what_it_took_and_others_scale_by_flops() {
        let g = grid();
        let group = &g.groups()[0];
        let case = &g.cases()[0];
        let mut p = Predictor::default();
        assert_eq!(p.predict(&g, group, case, 100), 1.0 + UNKNOWN_OVERHEAD_S);
        // 4 s of overhead, a 0.01 s step, 1 s measuring.
        p.learn(rec("other", "tch", 100, 0.01, 1.0, 5.02));
        let twice = p.predict(&g, group, case, 200);
        let expected = 4.0 + 0.04 + measuring(&g, 0.02);
        assert!((twice - expected).abs() < 1e-9, "{twice} vs {expected}");
        p.learn(rec(&group.bench_id(case), "tch", 100, 0.01, 1.0, 7.5));
        assert_eq!(p.predict(&g, group, case, 200), 7.5);
    }

    #[test]
    fn the_same_models_records_come_first_and_no_prediction_passes_the_limit() {
        let g = grid();
        let group = &g.groups()[0];
        let case = &g.cases()[0];
        let of = |model: &str, r: Record| Record {
            group: Group {
                model: model.into(),
                ..r.group
            },
            ..r
        };
        let mut p = Predictor::default();
        // Another model at exactly this cost, with a fast step; this model
        // at 4x the cost, with a step 400 times slower per FLOP (candle's
        // depthwise networks against its resnets).
        p.learn(of("vgg19", rec("a", "tch", 100, 0.01, 1.0, 5.02)));
        p.learn(of(&group.model, rec("b", "tch", 400, 16.0, 16.0, 52.0)));
        // 4 s overhead, the step 4 s: scaled from this model's record.
        let secs = p.predict(&g, group, case, 100);
        let expected = 4.0 + 8.0 + measuring(&g, 4.0);
        assert!((secs - expected).abs() < 1e-9, "{secs} vs {expected}");
        assert_eq!(p.known(&g, group, case, 100).unwrap().1, Basis::ThisModel);
        // A third model has only the others' records: the nearest cost.
        let third = Group {
            model: "vgg16".into(),
            ..group.clone()
        };
        let (secs, basis) = p.known(&g, &third, case, 100).unwrap();
        assert_eq!(basis, Basis::OtherModel);
        assert!(
            (secs - (4.0 + 0.02 + measuring(&g, 0.01))).abs() < 1e-9,
            "{secs}"
        );
        // 100 times the cost would be minutes; the limit stops it first.
        let capped = p.predict(&g, group, case, 40_000);
        assert_eq!(capped, g.time_limit_seconds + AROUND_THE_LIMIT_S);
    }

    /// candle's first efficientnet cell, with records of resnet18 (fast
    /// per FLOP, at about this cell's FLOPs) and of mobilenetv2 (depthwise,
    /// slow per FLOP, at a tenth of them): scaled from mobilenetv2's.
    #[test]
    fn another_model_with_depthwise_convolutions_comes_before_one_without() {
        let g = grid();
        let of = |model: &str, r: Record| Record {
            group: Group {
                model: model.into(),
                ..r.group
            },
            ..r
        };
        let efficientnet = Group {
            model: "efficientnetb4".into(),
            ..g.groups()[0].clone()
        };
        let case = &g.cases()[0];
        let mut p = Predictor::default();
        p.learn(of("resnet18", rec("a", "tch", 1000, 0.01, 1.0, 5.02)));
        let (fast, basis) = p.known(&g, &efficientnet, case, 1000).unwrap();
        assert_eq!(basis, Basis::UnlikeModel);
        assert!((fast - (4.02 + measuring(&g, 0.01))).abs() < 1e-9, "{fast}");
        // A 2 s step at a tenth of the FLOPs: 20 s here, an estimate.
        p.learn(of("mobilenetv2", rec("b", "tch", 100, 2.0, 4.0, 11.0)));
        let (slow, basis) = p.known(&g, &efficientnet, case, 1000).unwrap();
        assert_eq!(basis, Basis::OtherModel);
        let expected = 3.0 + 40.0 + measuring(&g, 20.0);
        assert!((slow - expected).abs() < 1e-9, "{slow} vs {expected}");
        // A model without depthwise convolutions still scales from resnet18.
        let vgg = Group {
            model: "vgg16".into(),
            ..efficientnet.clone()
        };
        assert_eq!(
            p.known(&g, &vgg, case, 1000).unwrap(),
            (fast, Basis::OtherModel)
        );
    }

    /// `model`'s record of framework `fw`: overhead 4 s, a first step of
    /// `first` s at `flops`, measured as [`grid`]'s settings measure it.
    fn at(model: &str, fw: &str, flops: u64, first: f64) -> Record {
        let id = format!("{model}/{fw}/{flops}");
        let m = measuring(&grid(), first);
        let mut r = rec(&id, fw, flops, first, m, 4.0 + 2.0 * first + m);
        r.group.model = model.into();
        r
    }

    fn expected(g: &Grid, step: f64) -> f64 {
        4.0 + 2.0 * step + measuring(g, step)
    }

    #[test]
    fn a_models_own_records_say_how_its_step_grows_with_the_flops() {
        let g = grid();
        let (group, case) = (&g.groups()[0], &g.cases()[0]);
        let mut p = Predictor::default();
        // 100 times the FLOPs, twice the time: a step bound by launches
        // more than by arithmetic, t ~ FLOPs^(ln 2 / ln 100).
        p.learn(at(&group.model, "tch", 100, 0.01));
        p.learn(at(&group.model, "tch", 10_000, 0.02));
        let secs = p.predict(&g, group, case, 1000);
        let step = 0.01 * 2f64.sqrt();
        assert!((secs - expected(&g, step)).abs() < 1e-9, "{secs}");
        // Scaled by the FLOPs, as with one record, it would be 0.1 s.
        assert!(secs < expected(&g, 0.05), "{secs}");
    }

    #[test]
    fn a_model_with_one_record_grows_as_the_frameworks_other_models_do() {
        let g = grid();
        let (group, case) = (&g.groups()[0], &g.cases()[0]);
        let mut p = Predictor::default();
        // vgg19's step takes the same time at 100 times the FLOPs.
        p.learn(at("vgg19", "tch", 100, 0.01));
        p.learn(at("vgg19", "tch", 10_000, 0.01));
        p.learn(at(&group.model, "tch", 100, 0.05));
        let secs = p.predict(&g, group, case, 10_000);
        assert!((secs - expected(&g, 0.05)).abs() < 1e-9, "{secs}");
        // The exponent never passes 1 nor goes below 0.
        let mut q = Predictor::default();
        q.learn(at("vgg19", "tch", 100, 0.01));
        q.learn(at("vgg19", "tch", 200, 1.0));
        q.learn(at(&group.model, "tch", 100, 0.05));
        let secs = q.predict(&g, group, case, 200);
        assert!((secs - expected(&g, 0.1)).abs() < 1e-9, "{secs}");
    }

    /// candle runs a depthwise layer as a convolution per channel: a step
    /// bound by launches grows with those, from resnet18 to mobilenetv2,
    /// where tch's grows with the graph's nodes.
    #[test]
    fn a_launch_bound_step_scales_by_the_frameworks_kernels() {
        let g = grid();
        let case = |fw: &str| Case {
            framework: Framework::parse(fw).unwrap(),
            ..g.cases()[0].clone()
        };
        let mobilenet = Group {
            model: "mobilenetv2".into(),
            ..g.groups()[0].clone()
        };
        let mut p = Predictor::default();
        for fw in ["tch", "candle"] {
            p.learn(at("resnet18", fw, 100, 0.01));
            p.learn(at("resnet18", fw, 10_000, 0.01));
        }
        let ratio = |fw: Framework| {
            kernels_per_step("mobilenetv2", fw).unwrap() as f64
                / kernels_per_step("resnet18", fw).unwrap() as f64
        };
        let (candle, tch) = (ratio(Framework::Candle), ratio(Framework::Tch));
        assert!(candle > 50.0 && tch < 3.0, "{candle} {tch}");
        for (fw, r) in [("candle", candle), ("tch", tch)] {
            let (secs, basis) = p.known(&g, &mobilenet, &case(fw), 100).unwrap();
            assert_eq!(basis, Basis::UnlikeModel);
            let want = expected(&g, 0.01 * r).min(g.time_limit_seconds + AROUND_THE_LIMIT_S);
            assert!((secs - want).abs() < 1e-9, "{fw}: {secs} vs {want}");
        }
    }

    #[test]
    fn the_predictions_are_checked_on_the_records() {
        let g = grid();
        let mut p = Predictor::default();
        assert_eq!(p.accuracy(&g, Basis::ThisModel), None);
        // Steps that grow with the FLOPs: each predicted exactly from the
        // other two.
        for f in [100, 200, 400] {
            p.learn(at("resnet18", "tch", f, 0.0001 * f as f64));
        }
        let own = p.accuracy(&g, Basis::ThisModel).unwrap();
        assert_eq!((own.count, own.under), (3, 0));
        assert!((own.median - 1.0).abs() < 1e-9 && (own.p90 - 1.0).abs() < 1e-9);
        assert_eq!(p.accuracy(&g, Basis::OtherModel), None);
        // vgg16's step takes 100 times resnet18's at the same FLOPs: from
        // resnet18's records its wall time is predicted at well under two
        // thirds, and theirs from it at more than they took.
        p.learn(at("vgg16", "tch", 100, 1.0));
        let own = p.accuracy(&g, Basis::ThisModel).unwrap();
        assert_eq!(own.count, 3, "vgg16 has no other record of its own");
        let other = p.accuracy(&g, Basis::OtherModel).unwrap();
        assert_eq!((other.count, other.under), (4, 1));
        assert!(other.median > 1.5, "{other:?}");
    }

    /// A check under other settings than the records' (a `report --grid`
    /// without the grid's own target) still predicts each record as it was
    /// measured, and so finds the predictions exact.
    #[test]
    fn the_check_predicts_each_record_under_its_own_settings() {
        let mut p = Predictor::default();
        for f in [100, 200, 400] {
            let mut r = at("resnet18", "tch", f, 0.0001 * f as f64);
            r.settings = Some(with("0123456789abcdef"));
            p.learn(r);
        }
        let other = Grid {
            target_seconds: 5.0,
            budget_seconds: 60.0,
            ..grid()
        };
        let own = p.accuracy(&other, Basis::ThisModel).unwrap();
        assert_eq!(own.count, 3);
        assert!((own.p90 - 1.0).abs() < 1e-9, "{own:?}");
        // A record that does not say its settings: the grid's.
        for r in &mut p.seen {
            r.settings = None;
        }
        let own = p.accuracy(&other, Basis::ThisModel).unwrap();
        assert!(own.median > 1.2, "{own:?}");
    }

    /// Older step code's times are not what the next run takes: where the
    /// framework has records of this build's, only those are checked.
    #[test]
    fn the_check_leaves_older_step_code_out_where_there_is_this_builds() {
        use crate::record::code;
        let g = grid();
        let mut p = Predictor::default();
        for f in [100, 200, 400] {
            let mut r = at("resnet18", "tch", f, 0.0001 * f as f64);
            r.settings = Some(with(code(Framework::Tch)));
            p.learn(r);
        }
        // An older build took 30 s more around its step.
        let mut old = at("resnet18", "tch", 800, 0.08);
        old.wall_seconds = old.wall_seconds.map(|w| w + 30.0);
        old.settings = Some(with("0123456789abcdef"));
        p.learn(old);
        let own = p.accuracy(&g, Basis::ThisModel).unwrap();
        assert_eq!((own.count, own.under), (3, 0), "{own:?}");
        assert!((own.p90 - 1.0).abs() < 1e-9, "{own:?}");
    }

    #[test]
    fn slow_steps_are_bounded_by_the_budget() {
        let g = grid();
        // 10 samples of 5 s do not fit 20 s: 4 steps, the first already timed.
        assert_eq!(measuring(&g, 5.0), 15.0);
        // A 60 s step still takes 2.
        assert_eq!(measuring(&g, 60.0), 60.0);
        assert!(measuring(&g, 0.001) < 3.0);
        assert_eq!(human(42.4), "42 s");
        assert_eq!(human(725.0), "12 min 05 s");
        assert_eq!(human(3720.0), "1 h 02 min");
    }
}
