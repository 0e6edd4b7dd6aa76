//! What criterion will do, read from the same command line: the benchmark
//! filter, so the harness can skip preparing (building a model, timing a
//! first step) for benchmarks criterion would not run, and whether it keeps
//! any estimate (its test and profile modes, `--discard-baseline`, do not).

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
