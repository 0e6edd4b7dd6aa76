//! How long a benchmark will take, predicted from the records already in
//! criterion's folder: for the progress lines' time remaining and for the
//! deadline, which starts a benchmark only when it is predicted to finish
//! in time. A prediction is an estimate; the time limit and the deadline's
//! kill bound what it gets wrong.

use crate::grid::{Case, Grid, Group};
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

/// Guess for a framework nothing is known of yet: its preparation (model,
/// process, first steps) in seconds, added to the target.
pub(crate) const UNKNOWN_OVERHEAD_S: f64 = 10.0;

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
            .map_or_else(|| guess(grid), |(secs, _)| secs)
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
        let current = |r: &Record| r.this_step_code() == Some(true);
        let alike = |r: &&Record| {
            r.case.framework == case.framework
                && r.group.device == group.device
                && r.group.phase == group.phase
                && r.first_step_seconds.is_some()
                && r.flops_per_step > 0
        };
        let fresh = self.seen.iter().filter(alike).any(current);
        let usable = |r: &&Record| !fresh || current(r);
        let id = group.bench_id(case);
        if let Some(r) = self.seen.iter().filter(usable).find(|r| r.id == id) {
            return Some((r.wall_seconds.unwrap_or_default(), Basis::ThisBenchmark));
        }
        // The same framework, device and phase at the nearest cost, of the
        // same model where it has any, else of a model that has grouped
        // (depthwise) convolutions as this one has or has not (a step's time
        // per FLOP differs between models by orders of magnitude: candle
        // runs a depthwise layer as one convolution per channel): its
        // overhead, and its step scaled by the FLOPs.
        let cost = |r: &&Record| (r.flops_per_step as f64 / flops.max(1) as f64).ln().abs();
        let nearest = |models: &dyn Fn(&str) -> bool| {
            self.seen
                .iter()
                .filter(alike)
                .filter(usable)
                .filter(|r| models(&r.group.model))
                .min_by(|a, b| cost(a).total_cmp(&cost(b)))
        };
        let nearest = nearest(&|m| m == group.model)
            .map(|r| (r, Basis::ThisModel))
            .or_else(|| {
                let grouped = grouped_convolutions(&group.model);
                nearest(&|m| grouped_convolutions(m) == grouped).map(|r| (r, Basis::OtherModel))
            })
            .or_else(|| nearest(&|_| true).map(|r| (r, Basis::UnlikeModel)));
        nearest.map(|(r, basis)| {
            let first = r.first_step_seconds.unwrap_or_default();
            let overhead = (r.wall_seconds.unwrap_or_default()
                - r.measure_seconds.unwrap_or_default()
                - 2.0 * first)
                .max(0.0);
            let step = first * flops as f64 / r.flops_per_step as f64;
            // No more than the time limit (and the few seconds around the
            // child it bounds): the limit stops the benchmark there.
            let secs = (overhead + 2.0 * step + measuring(grid, step))
                .min(grid.time_limit_seconds + AROUND_THE_LIMIT_S);
            (secs, basis)
        })
    }
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

/// Whether `model` has grouped (depthwise) convolutions; `None` for a name
/// cnn-models does not know. Each model's graph is built once per process.
fn grouped_convolutions(model: &str) -> Option<bool> {
    static SEEN: Mutex<BTreeMap<String, Option<bool>>> = Mutex::new(BTreeMap::new());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&known) = seen.get(model) {
        return known;
    }
    let grouped = cnn_models::model(model).ok().map(|graph| {
        graph
            .nodes
            .iter()
            .any(|n| matches!(&n.op, Op::Conv2d(c) if c.groups > 1))
    });
    seen.insert(model.to_string(), grouped);
    grouped
}

/// The graph of each model among `cases`, built once: for the FLOPs a
/// prediction scales by, and for the run. (Not in measure.rs, whose text is
/// part of every framework's step-code hash.)
pub fn graphs(cases: &[(Group, Case)]) -> Result<BTreeMap<String, Graph>> {
    let mut out = BTreeMap::new();
    for (g, _) in cases {
        if !out.contains_key(&g.model) {
            out.insert(g.model.clone(), cnn_models::model(&g.model)?);
        }
    }
    Ok(out)
}

/// The prediction for a framework, device and phase nothing is known of.
pub(crate) fn guess(grid: &Grid) -> f64 {
    grid.target_seconds + UNKNOWN_OVERHEAD_S
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
