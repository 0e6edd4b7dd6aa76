//! The comparison of two runs, benchmark by benchmark.

use super::{format_ns, geometric_mean, rows_from_csv, unique, Interval, Row};
use crate::contention::MARK;
use crate::grid::{Case, Group};
use crate::identities::Framework;
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// How a benchmark changed between two runs.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Slower by more than the threshold, confidence intervals apart, or
    /// failing now when it ran before.
    Regression,
    Improvement,
    /// Confidence intervals overlap.
    WithinNoise,
    /// Intervals apart but the change is under the threshold.
    BelowThreshold,
    /// Measured in only one of the runs.
    Unmatched,
}

/// What a comparison needs of a benchmark: its mean, or why it has none.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured {
    pub id: String,
    pub group: Group,
    pub case: Case,
    /// criterion's mean and confidence interval; for an estimate, its mean
    /// and the range of its steps.
    pub mean: Option<Interval>,
    pub estimate: bool,
    pub reason: Option<String>,
    /// See [`crate::report::machine`].
    pub machine: String,
    /// Whether the value is time (nanoseconds) rather than memory (MiB).
    pub time: bool,
    /// Measured while other processes kept the machine busy (a ratio: it
    /// or its reference).
    pub beside: bool,
    /// The settings its time depends on beyond the code and the machine:
    /// glibc's malloc and, on the CPU, the threads ([`settings_warning`]).
    pub settings: String,
}

impl From<&Row> for Measured {
    fn from(r: &Row) -> Self {
        let rough = r.estimate().map(|e| Interval {
            point: e.mean,
            low: e.min,
            high: e.max,
        });
        Measured {
            id: r.record.id.clone(),
            group: r.record.group.clone(),
            case: r.record.case.clone(),
            mean: r.estimates.map(|e| e.mean).or(rough),
            estimate: rough.is_some(),
            reason: r.record.reason.clone(),
            machine: r.machine(),
            time: r.record.metric == crate::identities::Metric::Time,
            beside: r.beside_other_work(),
            settings: match r.record.group.device.is_gpu() {
                true => format!("malloc `{}`", r.record.run.malloc.name()),
                false => format!(
                    "malloc `{}`, {} CPU thread(s)",
                    r.record.run.malloc.name(),
                    r.record.threads
                ),
            },
        }
    }
}

/// A warning when two runs, or the parts of one, come from different
/// machines: their differences are then partly the machines'.
pub fn machine_warning(old: &[Measured], new: &[Measured]) -> Option<String> {
    mix_warning(old, new, |m| &m.machine, "machines", "machine's")
}

/// A warning when two runs, or the parts of one, were measured under other
/// malloc or thread settings: their differences are then partly the
/// settings' (glibc's `retain` took half the time off TensorFlow's
/// largest CPU steps, docs/findings.md).
pub fn settings_warning(old: &[Measured], new: &[Measured]) -> Option<String> {
    mix_warning(old, new, |m| &m.settings, "settings", "settings'")
}

/// A warning when `of` takes more than one value over the two runs.
fn mix_warning(
    old: &[Measured],
    new: &[Measured],
    of: fn(&Measured) -> &String,
    what: &str,
    whose: &str,
) -> Option<String> {
    let set = |rows: &[Measured]| -> Vec<String> { unique(rows.iter().map(|m| of(m).clone())) };
    let (a, b) = (set(old), set(new));
    if a.len() <= 1 && a == b {
        return None;
    }
    Some(format!(
        "warning: these runs mix {what} (old: {}; new: {}): a difference may be the {whose}, not the code's",
        a.join(" + "),
        b.join(" + ")
    ))
}

/// A warning when either run measured benchmarks while other processes
/// kept its machine busy: their verdicts are then partly the load's.
pub fn beside_warning(old: &[Measured], new: &[Measured]) -> Option<String> {
    let count = |rows: &[Measured]| rows.iter().filter(|m| m.beside).count();
    let (a, b) = (count(old), count(new));
    (a + b > 0).then(|| format!(
        "warning: {a} of the old run's and {b} of the new run's benchmarks were measured beside other work ({MARK} in their notes): a difference there may be the machine's load, not the code's"
    ))
}

/// The benchmarks of a report folder's `report.csv` (a published reference
/// run) in criterion's units (nanoseconds or MiB): its rows read as a report
/// reads them ([`rows_from_csv`]).
pub fn measured_from_csv(path: &Path) -> Result<Vec<Measured>> {
    Ok(rows_from_csv(path)?.iter().map(Measured::from).collect())
}

/// Each benchmark of a run over its `reference` framework's figure in the
/// same configuration (model, device, phase, size, batch) of the same run,
/// as a ratio with a conservative interval (from both means' intervals):
/// two runs compared so are compared within each run, side by side, and a
/// shift of the whole run (a machine's speed between runs) cancels. The
/// reference's own rows are left out, and so are measured rows without a
/// measured reference in the same unit (how many: the second value); a
/// failure stays one.
pub fn relative_to(rows: &[Measured], reference: Framework) -> (Vec<Measured>, usize) {
    let of = |m: &Measured| {
        rows.iter().find(|r| {
            r.case.framework == reference
                && r.group == m.group
                && (r.case.size, r.case.batch) == (m.case.size, m.case.batch)
                && r.time == m.time
        })
    };
    let mut left_out = 0;
    let mut out = Vec::new();
    for m in rows.iter().filter(|m| m.case.framework != reference) {
        let Some(mean) = m.mean else {
            out.push(m.clone());
            continue;
        };
        match of(m).and_then(|r| Some((r, r.mean?))) {
            Some((r, base)) => out.push(Measured {
                mean: Some(Interval {
                    point: mean.point / base.point,
                    low: mean.low / base.high,
                    high: mean.high / base.low,
                }),
                estimate: m.estimate || r.estimate,
                beside: m.beside || r.beside,
                ..m.clone()
            }),
            None => left_out += 1,
        }
    }
    (out, left_out)
}

/// One benchmark of a comparison.
#[derive(Clone, Debug)]
pub struct Change {
    pub id: String,
    pub framework: Framework,
    pub old: Option<Interval>,
    pub new: Option<Interval>,
    pub verdict: Verdict,
    pub note: String,
    /// Whether the old and the new value are times (else MiB: a run with
    /// CNN_BENCH_MEASURE=memory); a side without a value takes the other's.
    pub time: [bool; 2],
}

impl Change {
    /// new / old mean, when both were measured in one unit.
    pub fn ratio(&self) -> Option<f64> {
        if self.time[0] != self.time[1] {
            return None;
        }
        Some(self.new?.point / self.old?.point)
    }
}

/// Compares the means of two runs benchmark by benchmark; `threshold` is
/// the relative change (0.05 = 5%) beyond which a change counts. Regressions
/// come first, largest first.
pub fn compare(old: &[Measured], new: &[Measured], threshold: f64) -> Vec<Change> {
    let index = |rows: &[Measured]| -> BTreeMap<String, Measured> {
        rows.iter().map(|r| (r.id.clone(), r.clone())).collect()
    };
    let (old, new) = (index(old), index(new));
    let rough =
        |rows: &BTreeMap<String, Measured>, id: &str| rows.get(id).is_some_and(|m| m.estimate);
    let mut ids: Vec<&String> = old.keys().chain(new.keys()).collect();
    ids.sort();
    ids.dedup();
    let mut out: Vec<Change> = ids
        .into_iter()
        .map(|id| {
            let o = old.get(id).and_then(|r| r.mean);
            let n = new.get(id).and_then(|r| r.mean);
            let is_time = |rows: &BTreeMap<String, Measured>| rows.get(id).map(|m| m.time);
            let time = match (is_time(&old), is_time(&new)) {
                (Some(a), Some(b)) => [a, b],
                (Some(a), None) => [a, a],
                (None, Some(b)) => [b, b],
                (None, None) => [true, true],
            };
            let (verdict, note) = match (o, n) {
                (Some(_), Some(_)) if time[0] != time[1] => (
                    Verdict::Unmatched,
                    format!(
                        "not comparable: the old run measured {}, the new {} (CNN_BENCH_MEASURE)",
                        if time[0] { "time" } else { "memory" },
                        if time[1] { "time" } else { "memory" }
                    ),
                ),
                (Some(o), Some(n)) => {
                    let ratio = n.point / o.point;
                    let v = if o.overlaps(&n) {
                        Verdict::WithinNoise
                    } else if ratio > 1.0 + threshold {
                        Verdict::Regression
                    } else if ratio < 1.0 - threshold {
                        Verdict::Improvement
                    } else {
                        Verdict::BelowThreshold
                    };
                    let mut note = format!("{:+.1}%", (ratio - 1.0) * 100.0);
                    if rough(&old, id) || rough(&new, id) {
                        note += " (an estimate: the range of its steps stands for the interval)";
                    }
                    let beside =
                        |rows: &BTreeMap<String, Measured>| rows.get(id).is_some_and(|m| m.beside);
                    match (beside(&old), beside(&new)) {
                        (false, false) => {}
                        (a, b) => {
                            let runs = match (a, b) {
                                (true, true) => "both runs",
                                (true, false) => "the old run",
                                _ => "the new run",
                            };
                            note += &format!(" ({MARK} {runs} measured it beside other work)");
                        }
                    }
                    (v, note)
                }
                (Some(_), None) => match new.get(id).and_then(|r| r.reason.clone()) {
                    Some(why) => (Verdict::Regression, format!("fails now: {why}")),
                    None => (Verdict::Unmatched, "not in the new run".into()),
                },
                (None, Some(_)) => (Verdict::Unmatched, "not measured in the old run".into()),
                (None, None) => (Verdict::Unmatched, "measured in neither run".into()),
            };
            Change {
                id: id.clone(),
                framework: old
                    .get(id)
                    .or(new.get(id))
                    .expect("in a run")
                    .case
                    .framework,
                old: o,
                new: n,
                verdict,
                note,
                time,
            }
        })
        .collect();
    let rank = |c: &Change| match c.verdict {
        Verdict::Regression => 0,
        Verdict::Improvement => 1,
        Verdict::BelowThreshold => 2,
        Verdict::WithinNoise => 3,
        Verdict::Unmatched => 4,
    };
    out.sort_by(|a, b| {
        rank(a).cmp(&rank(b)).then(
            b.ratio()
                .unwrap_or(f64::INFINITY)
                .total_cmp(&a.ratio().unwrap_or(f64::INFINITY)),
        )
    });
    out
}

/// How many benchmarks got each verdict: the comparison's last line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComparisonSummary {
    /// Measured in both runs, or measured in the old and failing in the new.
    pub compared: usize,
    pub regressions: usize,
    pub improvements: usize,
    pub within_noise: usize,
    pub below_threshold: usize,
    /// In one run only, measured in neither, or time in one and memory in
    /// the other.
    pub unmatched: usize,
}

impl ComparisonSummary {
    pub fn of(changes: &[Change]) -> Self {
        let mut s = Self::default();
        for c in changes {
            match c.verdict {
                Verdict::Regression => s.regressions += 1,
                Verdict::Improvement => s.improvements += 1,
                Verdict::WithinNoise => s.within_noise += 1,
                Verdict::BelowThreshold => s.below_threshold += 1,
                Verdict::Unmatched => s.unmatched += 1,
            }
        }
        s.compared = changes.len() - s.unmatched;
        s
    }

    /// `12 benchmark(s) compared: 1 regression(s) beyond 5%, ...`.
    pub fn said(&self, threshold: f64) -> String {
        format!(
            "{} benchmark(s) compared: {} regression(s) beyond {:.0}%, {} improvement(s), {} within noise, {} below the threshold; {} unmatched (in one run only, measured in neither, or in other units)",
            self.compared,
            self.regressions,
            threshold * 100.0,
            self.improvements,
            self.within_noise,
            self.below_threshold,
            self.unmatched
        )
    }
}

/// How the new run stands to the old over the benchmarks both measured in
/// one unit (at least two): the geometric mean of new / old, the spread of
/// the ratios and each framework's geometric mean. The verdicts count each
/// benchmark's confidence intervals, which are of its own run's samples; a
/// shift of a whole run (the machine's speed that day, another machine)
/// moves every benchmark alike, and shows here rather than in them.
pub fn shift_text(changes: &[Change], relative: Option<Framework>) -> Option<String> {
    let ratios: Vec<(Framework, f64)> = changes
        .iter()
        .filter_map(|c| Some((c.framework, c.ratio()?)))
        .collect();
    if ratios.len() < 2 {
        return None;
    }
    let mut all: Vec<f64> = ratios.iter().map(|r| r.1).collect();
    all.sort_by(f64::total_cmp);
    let spread = if all.len() >= 20 {
        let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize];
        format!("90% of them within {:.2}-{:.2}", at(0.05), at(0.95))
    } else {
        format!("range {:.2}-{:.2}", all[0], all[all.len() - 1])
    };
    let each: Vec<String> = unique(ratios.iter().map(|r| r.0))
        .into_iter()
        .map(|f| {
            let mine: Vec<f64> = ratios.iter().filter(|r| r.0 == f).map(|r| r.1).collect();
            format!("{f} {:.3} ({})", geometric_mean(&mine), mine.len())
        })
        .collect();
    let why = match relative {
        Some(f) => format!("each ratio is of times over {f}'s in one run, so a shift of a whole run (the machine's speed, another machine) cancels; what is left is each framework's change against {f}'s"),
        None => "the verdicts count each benchmark's confidence intervals, which are of its own run: a shift of a whole run (the machine's speed, another machine) moves every benchmark alike and shows in this mean (`--relative-to tch` cancels it)".into(),
    };
    Some(format!(
        "new / old over the {} benchmarks measured in both: geometric mean {:.3}, {spread}; by framework: {}. {}{why}",
        all.len(),
        geometric_mean(&all),
        each.join(", "),
        if relative.is_some() { "Relative: " } else { "Note: " }
    ))
}

/// The comparison as a text table (`markdown`: a Markdown table, for a
/// pull request's comment); `relative`: the values are ratios to that
/// framework's (see [`relative_to`]).
pub fn comparison_text(changes: &[Change], relative: Option<Framework>, markdown: bool) -> String {
    let fmt = |i: Option<Interval>, time: bool| match i {
        Some(i) if relative.is_some() => format!("{:.3}x [{:.3} .. {:.3}]", i.point, i.low, i.high),
        Some(i) if time => format!(
            "{} [{} .. {}]",
            format_ns(i.point),
            format_ns(i.low),
            format_ns(i.high)
        ),
        Some(i) => format!("{:.0} [{:.0} .. {:.0}] MiB", i.point, i.low, i.high),
        None => "-".into(),
    };
    let mut out = String::new();
    if markdown {
        let of = relative
            .map(|f| format!(" (over {f}'s)"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| verdict | benchmark | old{of} | new{of} | change |\n|---|---|---|---|---|"
        );
    }
    for c in changes {
        let verdict = match c.verdict {
            Verdict::Regression => "REGRESSION",
            Verdict::Improvement => "improvement",
            Verdict::WithinNoise => "within noise",
            Verdict::BelowThreshold => "below threshold",
            Verdict::Unmatched => "unmatched",
        };
        let (old, new) = (fmt(c.old, c.time[0]), fmt(c.new, c.time[1]));
        // A failure's reason may hold a `|`, which would end a Markdown cell.
        let note = match markdown {
            true => c.note.replace('|', "\\|"),
            false => c.note.clone(),
        };
        let _ = match markdown {
            true if c.verdict == Verdict::Regression => writeln!(
                out,
                "| **{verdict}** | `{}` | {old} | {new} | **{note}** |",
                c.id
            ),
            true => writeln!(out, "| {verdict} | `{}` | {old} | {new} | {note} |", c.id),
            false => writeln!(
                out,
                "{verdict:<16} {:<50} {old:>34} -> {new:<34} {note}",
                c.id
            ),
        };
    }
    if markdown {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Benchmark `id` at input size `size` (one model, device and phase).
    fn measured(id: &str, framework: Framework, size: usize, ms: Option<f64>) -> Measured {
        Measured {
            id: id.into(),
            group: Group::default(),
            case: Case {
                framework,
                size,
                batch: 1,
            },
            mean: ms.map(|p| Interval {
                point: p * 1e6,
                low: p * 0.99e6,
                high: p * 1.01e6,
            }),
            estimate: false,
            reason: None,
            machine: "m".into(),
            time: true,
            beside: false,
            settings: "malloc `retain`, 2 CPU thread(s)".into(),
        }
    }

    #[test]
    fn runs_of_other_settings_or_machines_are_warned_of() {
        let old = vec![measured("a", Framework::Tch, 1, Some(10.0))];
        let mut new = old.clone();
        assert_eq!(settings_warning(&old, &new), None);
        new[0].settings = "malloc `default`, 2 CPU thread(s)".into();
        assert_eq!(
            settings_warning(&old, &new).as_deref(),
            Some("warning: these runs mix settings (old: malloc `retain`, 2 CPU thread(s); new: malloc `default`, 2 CPU thread(s)): a difference may be the settings', not the code's")
        );
        assert_eq!(machine_warning(&old, &new), None);
        new.push(Measured {
            machine: "n".into(),
            ..new[0].clone()
        });
        assert_eq!(
            machine_warning(&old, &new).as_deref(),
            Some("warning: these runs mix machines (old: m; new: m + n): a difference may be the machine's, not the code's")
        );
    }

    #[test]
    fn a_figure_measured_beside_other_work_is_said_in_its_note_and_warned_of() {
        let old = vec![
            measured("a", Framework::Tch, 1, Some(10.0)),
            measured("b", Framework::Candle, 1, Some(20.0)),
        ];
        let mut new = vec![
            measured("a", Framework::Tch, 1, Some(10.0)),
            measured("b", Framework::Candle, 1, Some(30.0)),
        ];
        assert_eq!(beside_warning(&old, &new), None);
        new[0].beside = true;
        let changes = compare(&old, &new, 0.05);
        let note = |id: &str| changes.iter().find(|c| c.id == id).unwrap().note.clone();
        assert_eq!(
            note("a"),
            "+0.0% (‡ the new run measured it beside other work)"
        );
        assert_eq!(note("b"), "+50.0%");
        assert!(beside_warning(&old, &new)
            .unwrap()
            .starts_with("warning: 0 of the old run's and 1 of the new run's benchmarks"));
        // Over tch's figure, candle's ratio carries tch's load.
        let (relative, _) = relative_to(&new, Framework::Tch);
        assert_eq!(relative.len(), 1);
        assert!(relative[0].beside, "{relative:?}");
    }

    #[test]
    fn the_shift_of_a_whole_run_is_the_geometric_mean_of_its_ratios() {
        let (tch, candle) = (Framework::Tch, Framework::Candle);
        let old = [
            measured("a/tch", tch, 1, Some(10.0)),
            measured("b/tch", tch, 2, Some(10.0)),
            measured("a/candle", candle, 1, Some(10.0)),
            measured("gone/tch", tch, 1, Some(10.0)),
        ];
        let new = [
            measured("a/tch", tch, 1, Some(20.0)),
            measured("b/tch", tch, 2, Some(5.0)),
            measured("a/candle", candle, 1, Some(12.5)),
            measured("gone/tch", tch, 1, None),
        ];
        let said = shift_text(&compare(&old, &new, 0.05), None).unwrap();
        // (2 x 0.5 x 1.25)^(1/3) = 1.077; the one not measured anew is left out.
        assert!(
            said.starts_with("new / old over the 3 benchmarks measured in both: geometric mean 1.077, range 0.50-2.00; by framework: tch 1.000 (2), candle 1.250 (1)."),
            "{said}"
        );
        // One benchmark's ratio is its own line already.
        assert_eq!(shift_text(&compare(&old[..1], &new[..1], 0.05), None), None);
    }

    /// Relative to tch, a run whose every step took 1.5x as long (a slower
    /// machine) changed nothing, and one framework's own slowdown shows.
    #[test]
    fn relative_to_a_framework_cancels_a_whole_runs_shift() {
        let (tch, candle, tract) = (Framework::Tch, Framework::Candle, Framework::Tract);
        let old = [
            measured("a/tch", tch, 1, Some(10.0)),
            measured("a/candle", candle, 1, Some(20.0)),
            measured("a/tract", tract, 1, Some(30.0)),
            // No tch of its configuration (another size): left out.
            measured("b/candle", candle, 2, Some(20.0)),
        ];
        let new = [
            measured("a/tch", tch, 1, Some(15.0)),
            measured("a/candle", candle, 1, Some(30.0)),
            measured("a/tract", tract, 1, Some(90.0)),
            measured("b/candle", candle, 2, Some(20.0)),
        ];
        let ((o, left_out), (n, _)) = (relative_to(&old, tch), relative_to(&new, tch));
        assert_eq!(left_out, 1);
        assert_eq!(o.len(), 2, "tch's own and the unmatched left out: {o:?}");
        let point = |m: &Measured| m.mean.unwrap().point;
        assert!((point(&o[0]) - 2.0).abs() < 1e-9 && (point(&n[1]) - 6.0).abs() < 1e-9);
        // Conservative: 20 [19.8, 20.2] over 10 [9.9, 10.1].
        let i = o[0].mean.unwrap();
        assert!((i.low - 19.8 / 10.1).abs() < 1e-9 && (i.high - 20.2 / 9.9).abs() < 1e-9);
        let changes = compare(&o, &n, 0.05);
        let verdict = |id: &str| changes.iter().find(|c| c.id == id).unwrap().verdict.clone();
        assert_eq!(verdict("a/candle"), Verdict::WithinNoise);
        assert_eq!(verdict("a/tract"), Verdict::Regression);
        let said = shift_text(&changes, Some(tch)).unwrap();
        assert!(
            said.contains("by framework: candle 1.000 (1), tract 2.000 (1)"),
            "{said}"
        );
        // A failure stays one, reference or not.
        let mut broken = new.clone();
        broken[1].mean = None;
        broken[1].reason = Some("panicked".into());
        let (b, _) = relative_to(&broken, tch);
        let c = compare(&o, &b, 0.05);
        assert!(c
            .iter()
            .any(|c| c.id == "a/candle" && c.verdict == Verdict::Regression));
    }
}
