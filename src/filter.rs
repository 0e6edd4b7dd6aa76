//! What criterion will do, read from the same command line: the benchmark
//! filter, so the harness can skip preparing (building a model, timing a
//! first step) for benchmarks criterion would not run, and whether it keeps
//! any estimate (its test and profile modes, `--discard-baseline`, do not),
//! and which of its options the harness cannot honour.

use anyhow::{Context, Result};
use regex::Regex;

/// Criterion's options that take a value (criterion 0.7's command line), so
/// their values are not mistaken for the filter.
const VALUE_OPTIONS: &[&str] = &[
    "-c",
    "--color",
    "-s",
    "--save-baseline",
    "-b",
    "--baseline",
    "--baseline-lenient",
    "--format",
    "--profile-time",
    "--load-baseline",
    "--sample-size",
    "--warm-up-time",
    "--measurement-time",
    "--nresamples",
    "--noise-threshold",
    "--confidence-level",
    "--significance-level",
    "--plotting-backend",
    "--output-format",
];

/// Which benchmark ids run, as criterion decides it.
#[derive(Debug)]
pub enum Filter {
    All,
    Regex(Regex),
    Exact(String),
    /// `--ignored`: criterion runs nothing.
    None,
}

impl Filter {
    /// The filter of a bench binary's arguments (without the program name).
    pub fn from_args<I: IntoIterator<Item = String>>(args: I) -> Result<Self> {
        let (mut positional, mut exact, mut ignored) = (None, false, false);
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            match a.as_str() {
                "--exact" => exact = true,
                "--ignored" => ignored = true,
                _ if VALUE_OPTIONS.contains(&a.as_str()) => {
                    args.next();
                }
                _ if a.starts_with('-') => {}
                _ => positional = positional.or(Some(a)),
            }
        }
        Ok(match (positional, exact, ignored) {
            (_, _, true) => Filter::None,
            (None, _, _) => Filter::All,
            (Some(f), true, _) => Filter::Exact(f),
            (Some(f), false, _) => Filter::Regex(
                Regex::new(&f)
                    .with_context(|| format!("filter `{f}` is not a regular expression"))?,
            ),
        })
    }

    /// The arguments for a child process that runs benchmark `id` alone:
    /// `args` without its filter and `--exact`, then `--exact id`.
    pub fn child_args(args: &[String], id: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if VALUE_OPTIONS.contains(&a.as_str()) {
                out.push(a.clone());
                out.extend(it.next().cloned());
            } else if a.starts_with('-') && a != "--exact" {
                out.push(a.clone());
            }
        }
        out.extend(["--exact".to_string(), id.to_string()]);
        out
    }

    /// The filter as given: `None` when every benchmark, or none
    /// (`--ignored`), is meant.
    pub fn text(&self) -> Option<&str> {
        match self {
            Filter::Regex(r) => Some(r.as_str()),
            Filter::Exact(e) => Some(e),
            Filter::All | Filter::None => None,
        }
    }

    pub fn matches(&self, id: &str) -> bool {
        match self {
            Filter::All => true,
            Filter::Regex(r) => r.is_match(id),
            Filter::Exact(e) => e == id,
            Filter::None => false,
        }
    }
}

/// Whether `args` hold criterion's option `flag`, alone or as
/// `flag=value`.
pub fn has_flag(args: &[String], flag: &str) -> bool {
    args.iter()
        .any(|a| a == flag || a.strip_prefix(flag).is_some_and(|v| v.starts_with('=')))
}

/// The value of criterion's option `flag` (or its short form `short`):
/// `flag VALUE` or `flag=VALUE`.
fn value_of<'a>(args: &'a [String], flag: &str, short: Option<&str>) -> Option<&'a str> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == flag || Some(a.as_str()) == short {
            return it.next().map(String::as_str);
        }
        if let Some(v) = a.strip_prefix(flag).and_then(|v| v.strip_prefix('=')) {
            return Some(v);
        }
    }
    None
}

/// The name given to `--save-baseline` (`-s`), if any.
pub fn named_baseline(args: &[String]) -> Option<&str> {
    value_of(args, "--save-baseline", Some("-s"))
}

/// The baseline named by `--baseline` (`-b`): criterion compares with it
/// and stops the run, panicking, at the first benchmark that lacks it
/// (`--baseline-lenient` skips those instead).
pub fn compared_baseline(args: &[String]) -> Option<&str> {
    value_of(args, "--baseline", Some("-b"))
}

/// The baseline named by `--baseline-lenient`: compared with where a
/// benchmark has it.
pub fn lenient_baseline(args: &[String]) -> Option<&str> {
    value_of(args, "--baseline-lenient", None)
}

/// The baseline criterion 0.7 copies this run's estimates to, besides
/// `new`: the name given to `--save-baseline`, else its default `base`;
/// none where it compares with a saved one instead (`--baseline`,
/// `--baseline-lenient`) or keeps nothing (`--discard-baseline`).
pub fn saved_baseline(args: &[String]) -> Option<&str> {
    let compares = compared_baseline(args).is_some() || lenient_baseline(args).is_some();
    if compares || has_flag(args, "--discard-baseline") {
        None
    } else {
        Some(named_baseline(args).unwrap_or("base"))
    }
}

/// The folders criterion keeps for itself in each benchmark's folder, which
/// a baseline must not be named: `new` (the latest run; saving it as a
/// baseline copies each file onto itself, which empties it: criterion 0.7
/// wrote a zero-byte `estimates.json`, and comparing with it compares the
/// run with itself), `change` (its comparison with the last run) and
/// `report` (its HTML).
pub const CRITERIONS_FOLDERS: &[&str] = &["new", "change", "report"];

/// A baseline named (saved or compared with) that cannot be one: one of
/// [`CRITERIONS_FOLDERS`], or not a folder's name (criterion keeps a
/// baseline as a folder in each benchmark's folder: `--save-baseline ""`
/// wrote its files into the benchmark's folder itself, `a/b` a folder in a
/// folder, which `compare DIR:a/b` cannot name, `..` the folder above).
/// Says why, naming the option.
pub fn unusable_baseline(args: &[String]) -> Option<String> {
    let named = [
        ("--save-baseline", named_baseline(args)),
        ("--baseline", compared_baseline(args)),
        ("--baseline-lenient", lenient_baseline(args)),
    ];
    named.into_iter().find_map(|(flag, name)| {
        let name = name?;
        if CRITERIONS_FOLDERS.contains(&name) {
            Some(format!(
                "`{flag} {name}`: `{name}` is one of criterion's own folders ({}), not a baseline (`--save-baseline new` empties the latest run's estimates: criterion copies each file onto itself); name the baseline otherwise, e.g. `main`",
                CRITERIONS_FOLDERS.join(", ")
            ))
        } else if !is_folder_name(name) {
            Some(format!(
                "`{flag} {name}`: a baseline is a folder criterion makes in each benchmark's folder, so its name is one folder's name: not empty, without `/`, not `.` or `..`; e.g. `main`"
            ))
        } else {
            None
        }
    })
}

/// Whether `name` can name a baseline's folder: one folder's name, not
/// empty, without `/`, not `.` or `..`.
pub fn is_folder_name(name: &str) -> bool {
    !(name.is_empty() || name.contains('/') || name == "." || name == "..")
}

/// criterion's options that cnn-bench cannot honour, each with why and
/// what to use instead (a usage error, exit 2, before anything runs).
/// Passed through, each would be silently overridden or recorded as what it
/// is not: the harness plans every benchmark's warm-up and samples from a
/// first timed step (criterion's group settings override its command line),
/// records what criterion analysed as this run's measurement, and reads
/// every interval as 95%.
pub const REFUSED: &[(&str, &str)] = &[
    (
        "--load-baseline",
        "criterion would analyse an earlier run's saved samples, which cnn-bench would record as this run's; compare two runs with `cargo run --release -- compare OLD NEW`, or measure against a saved baseline with criterion's `--baseline NAME`",
    ),
    ("--sample-size", PLANNED),
    ("--warm-up-time", PLANNED),
    ("--measurement-time", PLANNED),
    (
        "--quick",
        "criterion's quick mode times two samples without a warm-up (a slow step once, its copy the second), and cnn-bench would record the interval over them as a measurement; for a quick run set CNN_BENCH_PROFILE=quick (CPU inference, 1 s per benchmark) or a smaller CNN_BENCH_TARGET_SECONDS",
    ),
    (
        "--confidence-level",
        "cnn-bench's records, reports and `compare` read every interval as criterion's default 95% one",
    ),
];
const PLANNED: &str = "cnn-bench plans each benchmark's warm-up, samples and measurement time from a first timed step (so a 10 s step does not take criterion's 100 samples), and that plan would override it; set the time per benchmark with CNN_BENCH_TARGET_SECONDS (`target_seconds` in cnn-bench.toml)";

/// The first of criterion's options in `args` that cnn-bench refuses
/// ([`REFUSED`]), with why.
pub fn refused(args: &[String]) -> Option<(&'static str, &'static str)> {
    REFUSED
        .iter()
        .copied()
        .find(|(flag, _)| has_flag(args, flag))
}

/// Whether a value is one an option takes.
type Takes = fn(f64) -> bool;

/// criterion's options whose values it checks with an assertion (a panic,
/// exit 101, after the harness has started): each with the values it
/// takes. A value that does not parse is left to criterion's own parser,
/// which says so with exit 2.
const RANGES: &[(&str, Takes, &str)] = &[
    (
        "--nresamples",
        |v| v >= 1.0,
        "a whole number of at least 1 (its default: 100000)",
    ),
    (
        "--noise-threshold",
        |v| v > 0.0,
        "a number above 0 (its default: 0.01)",
    ),
    (
        "--significance-level",
        |v| v > 0.0 && v < 1.0,
        "a number between 0 and 1, both excluded (its default: 0.05)",
    ),
    ("--profile-time", |v| v >= 1.0, "at least 1 (seconds)"),
];

/// The first of criterion's option values in `args` that criterion would
/// stop on (an assertion, or a plotting backend missing here), said as a
/// usage error.
pub fn out_of_range(args: &[String]) -> Option<String> {
    for (flag, takes, what) in RANGES {
        let Some(v) = value_of(args, flag, None) else {
            continue;
        };
        if v.parse::<f64>().is_ok_and(|x| !takes(x)) {
            return Some(format!("`{flag} {v}`: criterion takes {what}"));
        }
    }
    let gnuplot = value_of(args, "--plotting-backend", None) == Some("gnuplot");
    if gnuplot && !runs("gnuplot") {
        return Some(
            "`--plotting-backend gnuplot`: gnuplot is not installed here (`gnuplot --version` does not run); leave the option out (criterion then plots with plotters), or add `--noplot` instead (cnn-bench's report does not use criterion's plots)".into(),
        );
    }
    None
}

/// Whether `program --version` runs here (criterion's test for gnuplot).
fn runs(program: &str) -> bool {
    std::process::Command::new(program)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A run in which criterion keeps no estimate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NoEstimates {
    /// Each benchmark's step run once, untimed, to check that it runs.
    Test,
    /// The steps run for a profiler, untimed.
    Profile,
    /// Measured and printed, not kept.
    Discarded,
}

impl NoEstimates {
    /// What the run does instead, for its first line.
    pub fn why(self) -> &'static str {
        match self {
            NoEstimates::Test => "criterion's test mode (`--test`, or no `--bench` as under `cargo test --benches`): each benchmark's step runs once, untimed",
            NoEstimates::Profile => "criterion's profile mode (`--profile-time`): the steps run for a profiler, untimed",
            NoEstimates::Discarded => "`--discard-baseline`: criterion measures and prints, and keeps no estimate",
        }
    }

    /// Whether the steps are timed at all (the harness's own estimate of a
    /// slow step is then pointless: criterion runs every step).
    pub fn timed(self) -> bool {
        self == NoEstimates::Discarded
    }
}

/// Whether criterion will keep no estimate, read as criterion 0.7 reads
/// its command line (`--list` first, then test mode, then profile mode):
/// without `--bench` (`cargo test --benches`, `cargo test --all-targets`)
/// or with `--test` it runs each benchmark's step once to check that it
/// runs, with `--profile-time` it runs the steps for that long for a
/// profiler, and with `--discard-baseline` it measures and keeps nothing.
/// `None`: it measures and keeps its estimates (or lists).
pub fn no_estimates(args: &[String]) -> Option<NoEstimates> {
    let has = |flag: &str| has_flag(args, flag);
    if has("--list") {
        None
    } else if !has("--bench") || has("--test") {
        Some(NoEstimates::Test)
    } else if has("--profile-time") {
        Some(NoEstimates::Profile)
    } else if has("--discard-baseline") {
        Some(NoEstimates::Discarded)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(args: &[&str]) -> Filter {
        Filter::from_args(args.iter().map(|s| s.to_string())).unwrap()
    }

    #[test]
    fn reads_the_filter_as_criterion_does() {
        let id = "resnet18/cpu/inference/tch/size224-batch8";
        assert!(f(&["--bench"]).matches(id));
        assert!(f(&["--bench", "resnet18/cpu"]).matches(id));
        assert!(!f(&["--bench", "resnet18/gpu"]).matches(id));
        assert!(f(&["--save-baseline", "main", "candle|tch"]).matches(id));
        assert!(!f(&["--save-baseline", "resnet18", "candle"]).matches(id));
        assert!(!f(&["--exact", "resnet18/cpu"]).matches(id));
        assert!(f(&["--exact", id]).matches(id));
        assert!(!f(&["--ignored"]).matches(id));
        assert!(Filter::from_args(["(".to_string()]).is_err());
    }

    #[test]
    fn child_args_keep_options_and_run_one_benchmark() {
        let args: Vec<String> = ["--bench", "-s", "main", "resnet", "--exact", "--noplot"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let id = "resnet18/gpu/train/tch/size224-batch1";
        let child = Filter::child_args(&args, id);
        assert_eq!(child, ["--bench", "-s", "main", "--noplot", "--exact", id]);
        assert!(Filter::from_args(child).unwrap().matches(id));
    }

    #[test]
    fn knows_which_baseline_criterion_saves() {
        let b = |args: &[&str]| {
            saved_baseline(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .map(str::to_string)
        };
        assert_eq!(b(&["--bench", "resnet18"]).as_deref(), Some("base"));
        assert_eq!(
            b(&["--bench", "--save-baseline", "main"]).as_deref(),
            Some("main")
        );
        assert_eq!(b(&["--bench", "-s", "pr", "tch"]).as_deref(), Some("pr"));
        assert_eq!(b(&["--bench", "--save-baseline=pr"]).as_deref(), Some("pr"));
        assert_eq!(b(&["--bench", "--baseline", "main"]), None);
        assert_eq!(b(&["--bench", "-b", "main"]), None);
        assert_eq!(b(&["--bench", "--baseline-lenient=main"]), None);
        assert_eq!(b(&["--bench", "--discard-baseline"]), None);
        let args: Vec<String> = ["--bench", "-b", "main", "tch"].map(String::from).into();
        assert_eq!(compared_baseline(&args), Some("main"));
        assert_eq!(unusable_baseline(&args), None);
        let why = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            unusable_baseline(&args).unwrap_or_default()
        };
        assert!(why(&["--bench", "-s", "new"])
            .starts_with("`--save-baseline new`: `new` is one of criterion's own folders"));
        assert!(why(&["--bench", "--baseline-lenient=change"])
            .starts_with("`--baseline-lenient change`: `change` is one of"));
        for bad in ["", "a/b", ".", "..", "../x"] {
            let said = why(&["--bench", "--save-baseline", bad]);
            assert!(
                said.contains("its name is one folder's name"),
                "{bad}: {said}"
            );
        }
        assert_eq!(why(&["--bench", "-s", "main.2026-12"]), "");
    }

    #[test]
    fn knows_when_criterion_keeps_no_estimate() {
        let u =
            |args: &[&str]| no_estimates(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(u(&["--bench"]), None);
        assert_eq!(u(&["--bench", "--noplot", "resnet18"]), None);
        assert_eq!(u(&["--bench", "--list"]), None);
        assert_eq!(u(&["--list"]), None);
        assert_eq!(u(&[]), Some(NoEstimates::Test));
        assert_eq!(u(&["resnet18"]), Some(NoEstimates::Test));
        assert_eq!(u(&["--bench", "--test"]), Some(NoEstimates::Test));
        let profile = u(&["--bench", "--profile-time", "5"]);
        assert_eq!(profile, Some(NoEstimates::Profile));
        assert_eq!(
            u(&["--bench", "--profile-time=5"]),
            Some(NoEstimates::Profile)
        );
        let discard = u(&["--bench", "--discard-baseline"]);
        assert_eq!(discard, Some(NoEstimates::Discarded));
        assert!(
            discard.is_some_and(NoEstimates::timed) && !profile.is_some_and(NoEstimates::timed)
        );
        // A filter named like the flag is a filter.
        assert_eq!(u(&["--bench", "test"]), None);
    }
}
