//! How long a benchmark will take, predicted from the records already in
//! criterion's folder: for the progress lines' time remaining and for the
//! deadline, which starts a benchmark only when it is predicted to finish
//! in time. A prediction is an estimate; the time limit and the deadline's
//! kill bound what it gets wrong.

use crate::grid::{Case, Grid, Group};
use crate::identities::Framework;
use crate::measure::flops_per_step;
use crate::plan::{estimate_steps, plan};
use crate::record::{code, read_record, Record};
use anyhow::Result;
use cnn_models::Graph;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// What the harness knows of past benchmarks' durations.
#[derive(Default)]
pub struct Predictor {
    seen: Vec<Record>,
}

/// Guess for a framework nothing is known of yet: its preparation (model,
/// process, first steps) in seconds, added to the target.
const UNKNOWN_OVERHEAD_S: f64 = 10.0;

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
            .unwrap_or_else(|| guess(grid))
    }

    /// [`Predictor::predict`] where the records say anything of `case`;
    /// `None` where the prediction would be a guess.
    fn known(&self, grid: &Grid, group: &Group, case: &Case, flops: u64) -> Option<f64> {
        let current = |r: &Record| {
            r.settings
                .as_ref()
                .is_some_and(|s| s.code == code(r.framework))
        };
        let alike = |r: &&Record| {
            r.framework == case.framework
                && r.device == group.device
                && r.phase == group.phase
                && r.first_step_seconds.is_some()
                && r.flops_per_step > 0
        };
        let fresh = self.seen.iter().filter(alike).any(current);
        let usable = |r: &&Record| !fresh || current(r);
        let id = group.bench_id(case);
        if let Some(r) = self.seen.iter().filter(usable).find(|r| r.id == id) {
            return Some(r.wall_seconds.unwrap_or_default());
        }
        // The same framework, device and phase at the nearest cost: its
        // overhead, and its step scaled by the FLOPs.
        let nearest = self
            .seen
            .iter()
            .filter(alike)
            .filter(usable)
            .min_by(|a, b| {
                let d = |r: &Record| (r.flops_per_step as f64 / flops.max(1) as f64).ln().abs();
                d(a).total_cmp(&d(b))
            });
        nearest.map(|r| {
            let first = r.first_step_seconds.unwrap_or_default();
            let overhead = (r.wall_seconds.unwrap_or_default()
                - r.measure_seconds.unwrap_or_default()
                - 2.0 * first)
                .max(0.0);
            let step = first * flops as f64 / r.flops_per_step as f64;
            overhead + 2.0 * step + measuring(grid, step)
        })
    }
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
fn guess(grid: &Grid) -> f64 {
    grid.target_seconds + UNKNOWN_OVERHEAD_S
}

/// What a resumed run of a selection has left to measure in a criterion
/// folder, and about how long that takes.
#[derive(Debug, PartialEq)]
pub struct Left {
    /// Benchmarks without a record.
    pub missing: usize,
    /// Benchmarks recorded with older step code (measured again after the
    /// missing ones).
    pub stale: usize,
    /// Predicted seconds for both, from the folder's records.
    pub seconds: f64,
    /// How many of them are of a framework, device and phase with no timed
    /// record yet: their prediction is a guess.
    pub guessed: usize,
    /// Benchmarks and predicted seconds per framework, for planning passes.
    pub by_framework: BTreeMap<Framework, (usize, f64)>,
}

impl Left {
    /// What a resumed run of `cases` has left in criterion's folder `out`.
    pub fn of(grid: &Grid, cases: &[(Group, Case)], out: &Path) -> Result<Self> {
        let p = Predictor::from_folder(out);
        let mut left = Left {
            missing: 0,
            stale: 0,
            seconds: 0.0,
            guessed: 0,
            by_framework: BTreeMap::new(),
        };
        let mut todo = Vec::new();
        for (g, k) in cases {
            match read_record(out, g, k)? {
                None => left.missing += 1,
                Some(r)
                    if r.settings
                        .as_ref()
                        .is_some_and(|s| s.code != code(k.framework)) =>
                {
                    left.stale += 1
                }
                Some(_) => continue,
            }
            todo.push((g.clone(), k.clone()));
        }
        let graphs = graphs(&todo)?;
        for (g, k) in &todo {
            let flops = flops_per_step(&graphs[&g.model], k, g.phase)?;
            let known = p.known(grid, g, k, flops);
            let secs = known.unwrap_or_else(|| guess(grid));
            left.seconds += secs;
            left.guessed += usize::from(known.is_none());
            let f = left.by_framework.entry(k.framework).or_default();
            *f = (f.0 + 1, f.1 + secs);
        }
        Ok(left)
    }

    /// Two lines for a person planning the next slices: the whole, and
    /// per framework.
    pub fn lines(&self) -> String {
        let guessed = match self.guessed {
            0 => String::new(),
            n => format!("; {n} of them of frameworks with no record yet, guessed"),
        };
        let each: Vec<String> = self
            .by_framework
            .iter()
            .map(|(f, (n, secs))| format!("{f} {n} in {}", human(*secs)))
            .collect();
        format!(
            "left to measure: {} benchmark(s) ({} never recorded, {} with older step code), about {} of machine time (an estimate from the records{guessed})\nleft per framework: {}",
            self.missing + self.stale,
            self.missing,
            self.stale,
            human(self.seconds),
            each.join(", ")
        )
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
mod tests {
    use super::*;
    use crate::grid::{Device, Phase};

    fn grid() -> Grid {
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

    fn rec(id: &str, framework: &str, flops: u64, first: f64, measure: f64, wall: f64) -> Record {
        Record {
            id: id.into(),
            framework: crate::identities::Framework::parse(framework).unwrap(),
            device: Device::Gpu(0),
            phase: Phase::Train,
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
    fn what_a_resumed_run_has_left_is_predicted_from_the_folder() {
        use crate::filter::Filter;
        use crate::record::{write_record, MeasuredWith};
        let mut g = grid();
        g.batches = vec![1, 8, 16];
        g.frameworks = vec![Framework::Tch, Framework::Candle];
        let cases = crate::select::planned(&g, &Filter::All).cases;
        let out = std::env::temp_dir().join(format!("cnn-bench-left-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let graph = cnn_models::model("resnet18").unwrap();
        let at = |f: Framework, batch: usize| {
            let (gr, k) = cases
                .iter()
                .find(|(_, k)| (k.framework, k.batch) == (f, batch))
                .unwrap();
            (gr, k, flops_per_step(&graph, k, gr.phase).unwrap())
        };
        let with = |code: &str| MeasuredWith {
            code: code.into(),
            threads: 1,
            seed: 1,
            target_seconds: 1.0,
            budget_seconds: 20.0,
            metric: Default::default(),
            step_delay_ms: 0.0,
            malloc: Default::default(),
        };
        // tch at batch 1 is done; at batch 8 it is older step code (7.5 s
        // last time); at batch 16 and every candle cell it is missing.
        let (gr, k, f) = at(Framework::Tch, 1);
        let mut done = rec(&gr.bench_id(k), "tch", f, 0.01, 1.0, 5.02);
        done.settings = Some(with(code(Framework::Tch)));
        write_record(&out, gr, k, &done).unwrap();
        let (gr, k, f) = at(Framework::Tch, 8);
        let mut old = rec(&gr.bench_id(k), "tch", f, 0.02, 1.0, 7.5);
        old.settings = Some(with("0123456789abcdef"));
        write_record(&out, gr, k, &old).unwrap();

        let left = Left::of(&g, &cases, &out).unwrap();
        assert_eq!((left.missing, left.stale, left.guessed), (4, 1, 3));
        // Candle, never seen: the guess for each of its three.
        let unknown = g.target_seconds + UNKNOWN_OVERHEAD_S;
        assert_eq!(left.by_framework[&Framework::Candle], (3, 3.0 * unknown));
        // tch: batches 8 and 16 scaled from batch 1's record, of this
        // build's step code (4 s of overhead each, small steps), not from
        // batch 8's older record (7.5 s, 6.5 of it overhead).
        let (n, secs) = left.by_framework[&Framework::Tch];
        assert_eq!(n, 2);
        let scaled = |batch: usize| {
            let step = 0.01 * at(Framework::Tch, batch).2 as f64 / at(Framework::Tch, 1).2 as f64;
            4.0 + 2.0 * step + measuring(&g, step)
        };
        assert!((secs - scaled(8) - scaled(16)).abs() < 1e-9, "{secs}");
        let (gr, k, f) = at(Framework::Tch, 8);
        let alone = Predictor::from_folder(&out).predict(&g, gr, k, f);
        assert!((alone - scaled(8)).abs() < 1e-9, "{alone}");
        assert!((left.seconds - secs - 3.0 * unknown).abs() < 1e-9);
        let lines = left.lines();
        assert!(
            lines.starts_with("left to measure: 5 benchmark(s) (4 never recorded, 1 with older step code), about ")
                && lines.contains("3 of them of frameworks with no record yet, guessed")
                && lines.contains("\nleft per framework: tch 2 in "),
            "{lines}"
        );
        std::fs::remove_dir_all(&out).unwrap();
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
