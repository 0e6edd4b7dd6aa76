//! What a resumed run has left to measure in a criterion folder, and about
//! how long that takes (`report --grid`, and gpu-grid-publish.sh's
//! status.txt): for planning the next slices of a grid.

use crate::grid::{Case, Grid, Group};
use crate::identities::Framework;
use crate::measure::flops_per_step;
use crate::record::{read_record, Again};
use crate::schedule::{graphs, guess, human, Accuracy, Basis, Predictor};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What a resumed run of a selection has left to measure in a criterion
/// folder, and about how long that takes.
#[derive(Debug, PartialEq)]
pub struct Left {
    /// Benchmarks without a record.
    pub missing: usize,
    /// Benchmarks recorded with older step code (measured again after the
    /// missing ones).
    pub stale: usize,
    /// Benchmarks that failed by a time limit shorter than their
    /// framework's now: measured again too (see `Record::measured_again`).
    pub retried: usize,
    /// Benchmarks recorded under other settings than the grid's (seed,
    /// target, budget, malloc): measured again too.
    pub other_settings: usize,
    /// Predicted seconds for all of them, from the folder's records.
    pub seconds: f64,
    /// How many of them are of a framework, device and phase with no timed
    /// record yet: their prediction is a guess.
    pub guessed: usize,
    /// How many are predicted from another model's records only (rough:
    /// candle's depthwise steps cost far more per FLOP than its resnets').
    pub other_model: usize,
    /// How many of those from a model unlike theirs in having grouped
    /// (depthwise) convolutions or not: rougher still.
    pub unlike_model: usize,
    /// Per framework, for planning passes.
    pub by_framework: BTreeMap<Framework, Share>,
    /// Frameworks with benchmarks predicted from older step code's records
    /// only (none of this build's for their device and phase): what is
    /// around a step may have changed since (pytorch's workers, 17 s a
    /// cell before their zygote, 6 s after).
    pub older_code_only: BTreeSet<Framework>,
    /// How far the predictor was from the recorded benchmarks' times, each
    /// predicted from the others: from its model's other records, and from
    /// other models' only (as for a model with no record yet).
    pub checked: (Option<Accuracy>, Option<Accuracy>),
}

/// One framework's part of what is left: benchmarks and predicted seconds,
/// all of them and the never-recorded ones.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Share {
    pub count: usize,
    pub seconds: f64,
    pub missing: usize,
    pub missing_seconds: f64,
}

impl Left {
    /// Predicted seconds for the never-recorded benchmarks: what passes with
    /// `--new-only` take (gpu-grid.sh fills the acceptance's empty cells
    /// first).
    pub fn missing_seconds(&self) -> f64 {
        self.by_framework.values().map(|s| s.missing_seconds).sum()
    }

    /// How many benchmarks a resumed run measures: never recorded, or
    /// recorded and measured again.
    pub fn total(&self) -> usize {
        self.missing + self.stale + self.retried + self.other_settings
    }

    /// What a resumed run of `cases` has left in criterion's folder `out`.
    pub fn of(grid: &Grid, cases: &[(Group, Case)], out: &Path) -> Result<Self> {
        // The selection's frameworks, devices and phases: a prediction uses
        // no other records, and the check speaks of these.
        let mut p = Predictor::from_folder(out);
        p.retain(|r| cases.iter().any(|(g, k)| r.same_column(g, k)));
        let mut left = Left {
            missing: 0,
            stale: 0,
            retried: 0,
            other_settings: 0,
            seconds: 0.0,
            guessed: 0,
            other_model: 0,
            unlike_model: 0,
            by_framework: BTreeMap::new(),
            older_code_only: BTreeSet::new(),
            checked: (
                p.accuracy(grid, Basis::ThisModel),
                p.accuracy(grid, Basis::OtherModel),
            ),
        };
        // What is left, each with whether it was never recorded.
        let mut todo = Vec::new();
        for (g, k) in cases {
            let record = read_record(out, g, k)?;
            match record.as_ref().map(|r| r.measured_again(grid)) {
                None => left.missing += 1,
                Some(Some(Again::OlderStepCode)) => left.stale += 1,
                Some(Some(Again::ShorterLimit)) => left.retried += 1,
                Some(Some(Again::OtherSettings)) => left.other_settings += 1,
                Some(None) => continue,
            }
            todo.push((g, k, record.is_none()));
        }
        let graphs = graphs(todo.iter().map(|&(g, _, _)| g))?;
        for (g, k, missing) in todo {
            let flops = flops_per_step(&graphs[&g.model], k, g.phase)?;
            let known = p.known(grid, g, k, flops);
            let secs = known.map_or_else(|| guess(grid, g), |(secs, _)| secs);
            left.seconds += secs;
            left.guessed += usize::from(known.is_none());
            let basis = known.map(|(_, b)| b);
            left.other_model += usize::from(matches!(
                basis,
                Some(Basis::OtherModel | Basis::UnlikeModel)
            ));
            left.unlike_model += usize::from(basis == Some(Basis::UnlikeModel));
            if known.is_some() && !p.of_this_build(g, k) {
                left.older_code_only.insert(k.framework);
            }
            let f = left.by_framework.entry(k.framework).or_default();
            f.count += 1;
            f.seconds += secs;
            if missing {
                f.missing += 1;
                f.missing_seconds += secs;
            }
        }
        Ok(left)
    }

    /// Lines for a person planning the next slices: the whole, per
    /// framework, and how far such predictions were from the records.
    pub fn lines(&self) -> String {
        let guessed = match self.guessed {
            0 => String::new(),
            n => format!("; {n} of them of frameworks with no record yet, guessed"),
        };
        let other = match (self.other_model, self.unlike_model) {
            (0, _) => String::new(),
            (n, 0) => format!("; {n} scaled from another model's records, rough"),
            (n, u) => format!(
                "; {n} scaled from another model's records, rough, {u} of them from a model unlike theirs (depthwise convolutions or none): rougher still"
            ),
        };
        let each: Vec<String> = self
            .by_framework
            .iter()
            .map(|(f, s)| {
                let mut notes = Vec::new();
                match s.missing {
                    m if m == s.count => {}
                    0 => notes.push("none never recorded".to_string()),
                    m => notes.push(format!(
                        "never recorded: {m} in {}",
                        human(s.missing_seconds)
                    )),
                }
                if self.older_code_only.contains(f) {
                    notes.push("from older step code's records".to_string());
                }
                let notes = match notes.is_empty() {
                    true => String::new(),
                    false => format!(" ({})", notes.join("; ")),
                };
                format!("{f} {} in {}{notes}", s.count, human(s.seconds))
            })
            .collect();
        let checked = |a: &Option<Accuracy>, from: &str| {
            a.as_ref().map(|a| {
                format!(
                    "{} from {from}: median {:.2}x off, 90% within {:.2}x, {} under two thirds of the time",
                    a.count, a.median, a.p90, a.under
                )
            })
        };
        let checked: Vec<String> = [
            checked(&self.checked.0, "their model's other records"),
            checked(&self.checked.1, "other models' records only"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let checked = if checked.is_empty() {
            String::new()
        } else {
            format!(
                "\npredictions checked on the recorded benchmarks (wall time, each predicted from the others): {}",
                checked.join("; ")
            )
        };
        // Besides older step code, what is measured again, where any is.
        let again: String = [
            (
                self.retried,
                "failed by a shorter time limit than their framework's now",
            ),
            (
                self.other_settings,
                "measured under another seed, target, budget or malloc than the grid's",
            ),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!(", {n} {what}"))
        .collect();
        let new = match self.missing {
            0 => String::new(),
            _ if self.missing == self.total() => String::new(),
            _ => format!(
                ", {} of it for the never recorded",
                human(self.missing_seconds())
            ),
        };
        let total = self.total();
        let basis = match self.guessed {
            n if n > 0 && n == total => "a guess: no record to predict from".to_string(),
            _ => format!("an estimate from the records{guessed}{other}"),
        };
        format!(
            "left to measure: {total} benchmark(s) ({} never recorded, {} with older step code{again}), about {} of machine time{new} ({basis})\nleft per framework: {}{checked}",
            self.missing,
            self.stale,
            human(self.seconds),
            if each.is_empty() {
                "none".to_string()
            } else {
                each.join(", ")
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::tests::{grid, rec, with};
    use crate::schedule::{measuring, UNKNOWN_OVERHEAD_S};

    #[test]
    fn what_a_resumed_run_has_left_is_predicted_from_the_folder() {
        use crate::filter::Filter;
        use crate::record::{code, write_record};
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
        // tch at batch 1 is done; at batch 8 it is older step code (7.5 s
        // last time); at batch 16 and every candle cell it is missing.
        let (gr, k, f) = at(Framework::Tch, 1);
        let mut done = rec(&gr.bench_id(k), "tch", f, 0.01, 1.0, 5.02);
        done.group = gr.clone();
        done.settings = Some(with(code(Framework::Tch)));
        write_record(&out, gr, k, &done).unwrap();
        let (gr, k, f) = at(Framework::Tch, 8);
        let mut old = rec(&gr.bench_id(k), "tch", f, 0.02, 1.0, 7.5);
        old.group = gr.clone();
        old.settings = Some(with("0123456789abcdef"));
        write_record(&out, gr, k, &old).unwrap();

        // tch-jit is not in the selection: its records neither predict nor
        // are checked (two of this build's would check each other).
        for batch in [1, 8] {
            let (gr, _, f) = at(Framework::Tch, batch);
            let k = Case {
                framework: Framework::TchJit,
                ..at(Framework::Tch, batch).1.clone()
            };
            let mut r = rec(&gr.bench_id(&k), "tch-jit", f, 0.01, 1.0, 5.0);
            r.group = gr.clone();
            r.settings = Some(with(code(Framework::TchJit)));
            write_record(&out, gr, &k, &r).unwrap();
        }

        let left = Left::of(&g, &cases, &out).unwrap();
        assert_eq!(left.checked, (None, None));
        assert_eq!((left.missing, left.stale, left.guessed), (4, 1, 3));
        assert_eq!(
            left.other_model, 0,
            "one model: every prediction is its own"
        );
        // Candle, never seen: the guess for each of its three.
        let unknown = g.target_seconds + UNKNOWN_OVERHEAD_S;
        let candle = left.by_framework[&Framework::Candle];
        assert_eq!((candle.count, candle.seconds), (3, 3.0 * unknown));
        assert_eq!((candle.missing, candle.missing_seconds), (3, 3.0 * unknown));
        // tch: batches 8 and 16 scaled from batch 1's record, of this
        // build's step code (4 s of overhead each, small steps), not from
        // batch 8's older record (7.5 s, 6.5 of it overhead).
        let tch = left.by_framework[&Framework::Tch];
        let (n, secs) = (tch.count, tch.seconds);
        assert_eq!((n, tch.missing), (2, 1));
        let scaled = |batch: usize| {
            let step = 0.01 * at(Framework::Tch, batch).2 as f64 / at(Framework::Tch, 1).2 as f64;
            4.0 + 2.0 * step + measuring(&g, step)
        };
        assert!((secs - scaled(8) - scaled(16)).abs() < 1e-9, "{secs}");
        let (gr, k, f) = at(Framework::Tch, 8);
        let alone = Predictor::from_folder(&out).predict(&g, gr, k, f);
        assert!((alone - scaled(8)).abs() < 1e-9, "{alone}");
        assert!((left.seconds - secs - 3.0 * unknown).abs() < 1e-9);
        // The never-recorded: batch 16's and candle's, not batch 8's.
        assert!((tch.missing_seconds - scaled(16)).abs() < 1e-9);
        assert!((left.missing_seconds() - scaled(16) - 3.0 * unknown).abs() < 1e-9);
        let lines = left.lines();
        assert!(
            lines.starts_with("left to measure: 5 benchmark(s) (4 never recorded, 1 with older step code), about ")
                && lines.contains(&format!(
                    " of machine time, {} of it for the never recorded (",
                    human(left.missing_seconds())
                ))
                && lines.contains("3 of them of frameworks with no record yet, guessed")
                && lines.contains(&format!(
                    "\nleft per framework: tch 2 in {} (never recorded: 1 in {}), candle 3 in {}",
                    human(secs),
                    human(scaled(16)),
                    human(3.0 * unknown)
                )),
            "{lines}"
        );
        // Under another target (a profile's), batch 1's record is of other
        // settings: a resumed run of that grid measures it again too.
        let other = Grid {
            target_seconds: 5.0,
            ..g.clone()
        };
        let left = Left::of(&other, &cases, &out).unwrap();
        assert_eq!((left.missing, left.stale, left.other_settings), (4, 1, 1));
        assert!(
            left.lines().starts_with("left to measure: 6 benchmark(s) (4 never recorded, 1 with older step code, 1 measured under another seed, target, budget or malloc than the grid's), about "),
            "{}",
            left.lines()
        );
        std::fs::remove_dir_all(&out).unwrap();
    }

    /// A framework whose predictions rest on older step code's records
    /// only is said to, as its overhead may have changed since; once it has
    /// a record of this build's, it is not.
    #[test]
    fn predictions_from_older_step_code_only_are_said() {
        use crate::filter::Filter;
        use crate::record::{code, write_record};
        let mut g = grid();
        g.batches = vec![1, 8, 16];
        let cases = crate::select::planned(&g, &Filter::All).cases;
        let graph = cnn_models::model("resnet18").unwrap();
        let out = std::env::temp_dir().join(format!("cnn-bench-left-older-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        let write = |i: usize, step_code: &str| {
            let (gr, k) = &cases[i];
            let f = flops_per_step(&graph, k, gr.phase).unwrap();
            let mut r = rec(&gr.bench_id(k), "tch", f, 0.01, 1.0, 5.0);
            (r.group, r.case) = (gr.clone(), k.clone());
            r.settings = Some(with(step_code));
            write_record(&out, gr, k, &r).unwrap();
        };
        write(0, "0123456789abcdef");
        let left = Left::of(&g, &cases, &out).unwrap();
        assert_eq!(left.older_code_only, BTreeSet::from([Framework::Tch]));
        assert!(
            left.lines().contains("\nleft per framework: tch 3 in ")
                && left.lines().contains(" (never recorded: 2 in ")
                && left.lines().contains(" s; from older step code's records)"),
            "{}",
            left.lines()
        );
        write(1, code(Framework::Tch));
        let left = Left::of(&g, &cases, &out).unwrap();
        assert!(left.older_code_only.is_empty());
        assert!(
            !left.lines().contains("older step code's records"),
            "{}",
            left.lines()
        );
        std::fs::remove_dir_all(&out).unwrap();
    }

    /// A failure by a shorter limit than its framework's now is left, as a
    /// resumed run measures it again; one by the same limit is final.
    #[test]
    fn failures_by_a_shorter_limit_are_left_to_measure() {
        use crate::filter::Filter;
        use crate::identities::Status;
        use crate::record::{code, write_record};
        let mut g = grid();
        g.frameworks = vec![Framework::Tch, Framework::Burn];
        g.time_limit_seconds = 120.0;
        g.time_limit_by_framework = [(Framework::Burn, 300.0)].into();
        let cases = crate::select::planned(&g, &Filter::All).cases;
        assert_eq!(cases.len(), 2);
        let out = std::env::temp_dir().join(format!("cnn-bench-left-limit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        // Both stopped by the 120 s limit: tch's is final, burn's is not.
        for (gr, k) in &cases {
            let mut r = rec(&gr.bench_id(k), k.framework.name(), 1, 1.0, 1.0, 120.0);
            (r.group, r.case) = (gr.clone(), k.clone());
            r.settings = Some(with(code(k.framework)));
            r.status = Status::Failed;
            r.timed_out_after = Some(120.0);
            write_record(&out, gr, k, &r).unwrap();
        }
        let left = Left::of(&g, &cases, &out).unwrap();
        assert_eq!((left.missing, left.stale, left.retried), (0, 0, 1));
        assert_eq!(
            left.by_framework.keys().collect::<Vec<_>>(),
            [&Framework::Burn]
        );
        assert!(
            left.lines().starts_with("left to measure: 1 benchmark(s) (0 never recorded, 0 with older step code, 1 failed by a shorter time limit than their framework's now), about "),
            "{}",
            left.lines()
        );
        // Under burn's 120 s too: nothing left.
        g.time_limit_by_framework.clear();
        assert_eq!(Left::of(&g, &cases, &out).unwrap().retried, 0);
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn predictions_from_unlike_models_are_said_apart() {
        let mut left = Left {
            missing: 3,
            stale: 0,
            retried: 0,
            other_settings: 0,
            seconds: 30.0,
            guessed: 0,
            other_model: 3,
            unlike_model: 0,
            by_framework: BTreeMap::new(),
            older_code_only: BTreeSet::new(),
            checked: (None, None),
        };
        let rough = "3 scaled from another model's records, rough";
        assert!(
            left.lines().contains(&format!("{rough})")),
            "{}",
            left.lines()
        );
        left.unlike_model = 2;
        assert!(
            left.lines().contains(&format!(
                "{rough}, 2 of them from a model unlike theirs (depthwise convolutions or none): rougher still)"
            )),
            "{}",
            left.lines()
        );
        assert!(!left.lines().contains("checked"));
        assert!(left.lines().contains("\nleft per framework: none"));
        left.checked.1 = Some(Accuracy {
            count: 12,
            median: 1.4,
            p90: 3.1,
            under: 2,
        });
        assert!(
            left.lines().ends_with("\npredictions checked on the recorded benchmarks (wall time, each predicted from the others): 12 from other models' records only: median 1.40x off, 90% within 3.10x, 2 under two thirds of the time"),
            "{}",
            left.lines()
        );
    }
}
