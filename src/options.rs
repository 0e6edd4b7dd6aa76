//! How one invocation of the harness runs the grid, beside what it measures:
//! resume, a deadline, a shard, and the markers the harness passes to its
//! own child processes. Read from `CNN_BENCH_*` variables; the flags
//! `--resume`, `--retry-failed`, `--max-time S` and `--shard K/N` are
//! turned into those variables before criterion reads the command line
//! (criterion refuses options it does not know).

use crate::identities::Metric;
use anyhow::{bail, ensure, Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Which earlier results a run keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// Measure everything (a plain run).
    No,
    /// Skip benchmarks with a record measured with the same settings, `ok`
    /// or `failed` (a failure is a reason, the end of that cell).
    Finished,
    /// Skip only those with an `ok` record: failures are tried again.
    OkOnly,
    /// Skip every benchmark with a record, whatever its settings or status:
    /// only the never-recorded run, so a slice of GPU time can fill a
    /// grid's every empty cell before it refreshes any.
    NewOnly,
}

/// One of `count` interleaved parts of a run: benchmarks `index - 1`,
/// `index - 1 + count`, ... of the selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Self> {
        let (k, n) = s
            .split_once('/')
            .with_context(|| format!("shard `{s}` is not K/N (e.g. 2/4)"))?;
        let (k, n): (usize, usize) = (
            k.trim()
                .parse()
                .with_context(|| format!("shard `{s}`: `{k}` is not a number"))?,
            n.trim()
                .parse()
                .with_context(|| format!("shard `{s}`: `{n}` is not a number"))?,
        );
        ensure!(
            n >= 1 && (1..=n).contains(&k),
            "shard `{s}`: K must be between 1 and N (e.g. 2/4)"
        );
        Ok(Shard { index: k, count: n })
    }

    /// Whether the `i`-th benchmark (0-based) of the selection is this shard's.
    pub fn holds(&self, i: usize) -> bool {
        i % self.count == self.index - 1
    }

    /// The benchmarks of `selection` that `shard` holds (all, without one):
    /// what a run measures and what `--list` prints.
    pub fn of<T>(shard: Option<Shard>, selection: impl IntoIterator<Item = T>) -> Vec<T> {
        selection
            .into_iter()
            .enumerate()
            .filter(|(i, _)| shard.is_none_or(|s| s.holds(*i)))
            .map(|(_, x)| x)
            .collect()
    }
}

/// The options of one invocation.
#[derive(Clone, Debug)]
pub struct Options {
    pub resume: Resume,
    /// With a resume: measure again what was measured while other work
    /// kept the machine busy (`--retry-busy`).
    pub retry_busy: bool,
    /// When to stop starting benchmarks (`--max-time` after the start).
    pub deadline: Option<Instant>,
    pub shard: Option<Shard>,
    /// Names this invocation; kept by children and by a restart.
    pub run_id: String,
    /// This process was restarted by the run itself (after an in-process
    /// benchmark hung): benchmarks this run id recorded are done.
    pub continuing: bool,
    /// This process is a child that runs one benchmark for its parent.
    pub child: bool,
    /// Weights the parent made for the child (safetensors).
    pub weights: Option<PathBuf>,
    /// Test only: added to every step (`CNN_BENCH_STEP_DELAY_MS`).
    pub step_delay: Duration,
    /// Test only: where a benchmark hangs (`CNN_BENCH_HANG`).
    pub hang: Option<AtStage>,
    /// Test only: where a benchmark's process aborts, as a crash would end
    /// it (`CNN_BENCH_ABORT`).
    pub abort: Option<AtStage>,
    /// What criterion measures (`CNN_BENCH_MEASURE`: `time` or `memory`).
    pub metric: Metric,
    /// Where a finished run writes its report (`CNN_BENCH_REPORT`): `None`
    /// for no report (`none`, or `0` as the other switches say it), an
    /// empty path for beside criterion's folder.
    pub report: Option<PathBuf>,
}

/// Test only: `CNN_BENCH_HANG=<stage>[@<id regex>]` makes the benchmarks
/// whose id matches (all without a regex) hang when `stage` begins, and
/// `CNN_BENCH_ABORT` (the same form) makes their process abort there.
#[derive(Clone, Debug)]
pub struct AtStage {
    pub stage: String,
    pub ids: Option<regex::Regex>,
}

impl AtStage {
    fn parse(var: &str, v: &str) -> Result<Self> {
        let (stage, ids) = match v.split_once('@') {
            Some((s, r)) => (
                s,
                Some(
                    regex::Regex::new(r)
                        .with_context(|| format!("{var}: `{r}` is not a regular expression"))?,
                ),
            ),
            None => (v, None),
        };
        ensure!(
            STAGES.contains(&stage),
            "{var}: unknown stage `{stage}`; valid stages: {}",
            STAGES.join(", ")
        );
        Ok(AtStage {
            stage: stage.to_string(),
            ids,
        })
    }

    /// Whether benchmark `id` is hit when `stage` begins.
    pub fn hits(&self, id: &str, stage: &str) -> bool {
        self.stage == stage && self.ids.as_ref().is_none_or(|r| r.is_match(id))
    }
}

pub const RUN_ID_VAR: &str = "CNN_BENCH_RUN_ID";
pub const WEIGHTS_VAR: &str = "CNN_BENCH_WEIGHTS";
pub const MAX_TIME_VAR: &str = "CNN_BENCH_MAX_TIME";
pub const NEW_ONLY_VAR: &str = "CNN_BENCH_NEW_ONLY";
pub const RETRY_BUSY_VAR: &str = "CNN_BENCH_RETRY_BUSY";
pub const DELAY_VAR: &str = "CNN_BENCH_STEP_DELAY_MS";
/// The stages a benchmark goes through, as `CNN_BENCH_HANG` names them.
pub const STAGES: &[&str] = &["preparing", "measuring"];

impl Options {
    /// The options of the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_vars(&crate::config::cnn_bench_vars())
    }

    pub fn from_vars(vars: &BTreeMap<String, String>) -> Result<Self> {
        let get = |k: &str| vars.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let flag = |k: &str| -> Result<bool> {
            match get(k) {
                None | Some("0") => Ok(false),
                Some("1") => Ok(true),
                Some(v) => bail!("{k}: `{v}` is not 0 or 1"),
            }
        };
        let deadline = get(MAX_TIME_VAR)
            .map(|v| {
                let what = given_as(MAX_TIME_VAR);
                let s: f64 = v
                    .parse()
                    .with_context(|| format!("{what}: `{v}` is not a number of seconds"))?;
                ensure!(
                    s > 0.0 && s.is_finite(),
                    "{what}: must be positive, got {v}"
                );
                // Past what an Instant holds (1e20 s panicked): none.
                let at = Duration::try_from_secs_f64(s)
                    .ok()
                    .and_then(|d| Instant::now().checked_add(d));
                at.with_context(|| {
                    format!("{what}: {v} s is further than this machine's clock reaches; leave it out for no deadline")
                })
            })
            .transpose()?;
        let retry_busy = flag(RETRY_BUSY_VAR)?;
        ensure!(
            !(retry_busy && flag(NEW_ONLY_VAR)?),
            "{} and {}: one measures recorded benchmarks again, the other nothing recorded; give one",
            given_as(NEW_ONLY_VAR),
            given_as(RETRY_BUSY_VAR)
        );
        // A deadline-bounded run is meant to be run again to go on.
        let resume = match (
            flag("CNN_BENCH_RESUME")? || deadline.is_some() || retry_busy,
            flag("CNN_BENCH_RETRY_FAILED")?,
            flag(NEW_ONLY_VAR)?,
        ) {
            (false, false, false) => Resume::No,
            (true, false, false) => Resume::Finished,
            (_, true, false) => Resume::OkOnly,
            (_, false, true) => Resume::NewOnly,
            (_, true, true) => bail!(
                "{} and {}: one measures recorded failures again, the other nothing recorded; give one",
                given_as(NEW_ONLY_VAR),
                given_as("CNN_BENCH_RETRY_FAILED")
            ),
        };
        let step_delay = match get(DELAY_VAR) {
            None => Duration::ZERO,
            Some(v) => v
                .parse::<f64>()
                .ok()
                .and_then(|ms| Duration::try_from_secs_f64(ms / 1e3).ok())
                .with_context(|| {
                    format!("{DELAY_VAR}: `{v}` is not a number of milliseconds, 0 or more")
                })?,
        };
        let at_stage = |var: &str| get(var).map(|v| AtStage::parse(var, v)).transpose();
        let (hang, abort) = (at_stage("CNN_BENCH_HANG")?, at_stage("CNN_BENCH_ABORT")?);
        let metric = match get("CNN_BENCH_MEASURE") {
            None | Some("time") => Metric::Time,
            Some("memory") => Metric::Memory,
            Some(other) => {
                bail!("unknown CNN_BENCH_MEASURE `{other}`; valid values: time, memory")
            }
        };
        let report = match get("CNN_BENCH_REPORT") {
            Some("none" | "0") => None,
            Some(dir) => Some(PathBuf::from(dir)),
            None => Some(PathBuf::new()),
        };
        let run_id = get(RUN_ID_VAR).map(str::to_string);
        let child = get(crate::child::CHILD_VAR).is_some();
        Ok(Options {
            resume,
            retry_busy,
            deadline,
            shard: get("CNN_BENCH_SHARD").map(Shard::parse).transpose()?,
            continuing: run_id.is_some() && !child,
            run_id: run_id.unwrap_or_else(new_run_id),
            child,
            weights: get(WEIGHTS_VAR).map(PathBuf::from),
            step_delay,
            hang,
            abort,
            metric,
            report,
        })
    }

    /// When the run began, from its id (a fresh id's first part is its
    /// start time): a harness the run restarted began after it.
    pub fn run_started(&self) -> Option<SystemTime> {
        let secs = self.run_id.split('-').next()?.parse().ok()?;
        Some(UNIX_EPOCH + Duration::from_secs(secs))
    }

    /// Seconds left before the deadline, if there is one.
    pub fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }
}

/// The run's scratch folder (weights shared with child processes, the GPU
/// peaks), under the system's temporary folder.
pub fn scratch(run_id: &str) -> PathBuf {
    std::env::temp_dir().join(format!("cnn-bench-{run_id}"))
}

/// A fresh run id: the start time and the process id.
fn new_run_id() -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}-{}", t.as_secs(), std::process::id())
}

/// Environment variables to set: name, value.
pub type Vars = Vec<(String, String)>;

/// One of the harness's own flags (criterion refuses options it does not
/// know): each stands for a variable.
pub struct Flag {
    pub name: &'static str,
    pub var: &'static str,
    /// What it takes, as help shows it (`<K/N>`); none: it sets `var` to 1.
    pub value: Option<&'static str>,
    pub help: &'static str,
}

pub const FLAGS: &[Flag] = &[
    Flag {
        name: "--resume",
        var: "CNN_BENCH_RESUME",
        value: None,
        help: "skip benchmarks already recorded with the same settings",
    },
    Flag {
        name: "--retry-failed",
        var: "CNN_BENCH_RETRY_FAILED",
        value: None,
        help: "with --resume: measure recorded failures again",
    },
    Flag {
        name: "--retry-busy",
        var: RETRY_BUSY_VAR,
        value: None,
        help: "measure again what was measured while other work kept the machine busy (‡ in the report); implies --resume",
    },
    Flag {
        name: "--new-only",
        var: NEW_ONLY_VAR,
        value: None,
        help: "measure only benchmarks never recorded, keeping older records as they are; implies --resume",
    },
    Flag {
        name: "--max-time",
        var: MAX_TIME_VAR,
        value: Some("<SECONDS>"),
        help: "start nothing predicted to end after SECONDS; implies --resume",
    },
    Flag {
        name: "--shard",
        var: "CNN_BENCH_SHARD",
        value: Some("<K/N>"),
        help: "every Nth benchmark of the selection, from the Kth (with --list: the shard's)",
    },
];

/// How a user may have given `var`: `--max-time (CNN_BENCH_MAX_TIME)` where
/// a flag stands for it, so an error names what was typed.
fn given_as(var: &str) -> String {
    match FLAGS.iter().find(|f| f.var == var) {
        Some(f) => format!("{} ({var})", f.name),
        None => var.to_string(),
    }
}

/// The harness's own flags in `args`, as the variables they stand for, and
/// the arguments left for criterion. `None` when there are none.
pub fn flags_as_vars(args: &[String]) -> Result<Option<(Vec<String>, Vars)>> {
    let mut rest = Vec::new();
    let mut vars = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (a.as_str(), None),
        };
        let Some(flag) = FLAGS.iter().find(|f| f.name == name) else {
            // criterion would refuse a misspelt one of ours, after the
            // devices are probed, suggesting one of its own.
            if let Some(f) = FLAGS
                .iter()
                .find(|f| name.starts_with("--") && edits(name, f.name) <= 2)
            {
                bail!(
                    "unknown option `{name}`; did you mean `{}`? (`cargo bench -- --help` lists cnn-bench's options and criterion's)",
                    f.name
                );
            }
            rest.push(a.clone());
            continue;
        };
        let value = match flag.value {
            None if inline.is_some() => {
                bail!("{name} takes no value (`{a}`): give `{name}` alone, or leave it out")
            }
            None => "1".to_string(),
            Some(what) => match inline.or_else(|| it.next().cloned()) {
                Some(v) => v,
                None => bail!("{name} needs a value: {name} {what}"),
            },
        };
        vars.push((flag.var.to_string(), value));
    }
    Ok((!vars.is_empty()).then_some((rest, vars)))
}

/// Levenshtein's distance between `a` and `b` (insertions, deletions and
/// substitutions of one character). A dozen lines rather than a crate: a
/// dependency is a manifest change, step code that every GPU record was
/// measured under (build.rs).
fn edits(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substituted = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A misspelt option of ours is refused with the right one; criterion's
    /// own, none of them near ours, pass through.
    #[test]
    fn a_misspelt_option_is_refused_with_the_one_meant() {
        assert_eq!(edits("--max-tme", "--max-time"), 1);
        assert_eq!(edits("--resmue", "--resume"), 2);
        assert_eq!(edits("kitten", "sitting"), 3);
        let args = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let e = flags_as_vars(&args(&["--max-tme", "5"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown option `--max-tme`; did you mean `--max-time`? (`cargo bench -- --help` lists cnn-bench's options and criterion's)"
        );
        assert!(flags_as_vars(&args(&["--shrad=2/4"])).is_err());
        let criterions = [
            "--bench",
            "--list",
            "--noplot",
            "--save-baseline",
            "--baseline",
            "--load-baseline",
            "--sample-size",
            "--warm-up-time",
            "--measurement-time",
            "--nresamples",
            "--quick",
            "--profile-time",
            "--exact",
            "--test",
            "--verbose",
            "--quiet",
            "--format",
            "--discard-baseline",
            "--noise-threshold",
            "--plotting-backend",
            "--ignored",
            "--include-ignored",
            "--nocapture",
            "--color",
            "--version",
            "--show-output",
            "--output-format",
            "--baseline-lenient",
            "--confidence-level",
            "--significance-level",
        ];
        assert_eq!(flags_as_vars(&args(&criterions)).unwrap(), None);
    }

    fn opts(vars: &[(&str, &str)]) -> Result<Options> {
        Options::from_vars(
            &vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn shards_interleave_and_cover_the_selection_once() {
        let shards: Vec<Shard> = (1..=3)
            .map(|k| Shard::parse(&format!("{k}/3")).unwrap())
            .collect();
        for i in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.holds(i)).count(), 1);
        }
        assert!(shards[1].holds(1) && shards[1].holds(4) && !shards[1].holds(2));
        for bad in ["0/4", "5/4", "2", "a/4", "1/0"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_deadline_implies_resume_and_retry_failed_narrows_it() {
        assert_eq!(opts(&[]).unwrap().resume, Resume::No);
        let o = opts(&[(MAX_TIME_VAR, "420")]).unwrap();
        assert_eq!(o.resume, Resume::Finished);
        assert!(o.time_left().unwrap() > Duration::from_secs(419));
        let o = opts(&[("CNN_BENCH_RESUME", "1"), ("CNN_BENCH_RETRY_FAILED", "1")]).unwrap();
        assert_eq!(o.resume, Resume::OkOnly);
        let o = opts(&[(MAX_TIME_VAR, "420"), (NEW_ONLY_VAR, "1")]).unwrap();
        assert_eq!(o.resume, Resume::NewOnly);
        assert_eq!(
            opts(&[(NEW_ONLY_VAR, "1")]).unwrap().resume,
            Resume::NewOnly
        );
        let e = format!(
            "{:#}",
            opts(&[(NEW_ONLY_VAR, "1"), ("CNN_BENCH_RETRY_FAILED", "1")]).unwrap_err()
        );
        assert!(
            e.contains(
                "--new-only (CNN_BENCH_NEW_ONLY) and --retry-failed (CNN_BENCH_RETRY_FAILED)"
            ),
            "{e}"
        );
        let o = opts(&[(RETRY_BUSY_VAR, "1")]).unwrap();
        assert_eq!((o.resume, o.retry_busy), (Resume::Finished, true));
        let e = format!(
            "{:#}",
            opts(&[(NEW_ONLY_VAR, "1"), (RETRY_BUSY_VAR, "1")]).unwrap_err()
        );
        assert!(
            e.contains("--new-only (CNN_BENCH_NEW_ONLY) and --retry-busy (CNN_BENCH_RETRY_BUSY)"),
            "{e}"
        );
        let e = format!("{:#}", opts(&[(MAX_TIME_VAR, "soon")]).unwrap_err());
        assert!(
            e.contains("--max-time (CNN_BENCH_MAX_TIME): `soon` is not a number of seconds"),
            "{e}"
        );
        // Past what a clock holds: an error, not a panic.
        let e = format!("{:#}", opts(&[(MAX_TIME_VAR, "1e20")]).unwrap_err());
        assert!(
            e.contains("further than this machine's clock reaches"),
            "{e}"
        );
        for bad in ["-5", "1e30", "inf", "soon"] {
            let e = format!("{:#}", opts(&[(DELAY_VAR, bad)]).unwrap_err());
            assert!(
                e.contains("is not a number of milliseconds, 0 or more"),
                "{e}"
            );
        }
        let o = opts(&[(DELAY_VAR, "250")]).unwrap();
        assert_eq!(o.step_delay, Duration::from_millis(250));
        assert_eq!(opts(&[]).unwrap().metric, Metric::Time);
        let o = opts(&[
            ("CNN_BENCH_MEASURE", "memory"),
            ("CNN_BENCH_REPORT", "none"),
        ])
        .unwrap();
        assert_eq!((o.metric, o.report), (Metric::Memory, None));
        assert_eq!(opts(&[("CNN_BENCH_REPORT", "0")]).unwrap().report, None);
        assert_eq!(
            opts(&[("CNN_BENCH_REPORT", "mine")]).unwrap().report,
            Some(PathBuf::from("mine"))
        );
        let e = format!(
            "{:#}",
            opts(&[("CNN_BENCH_MEASURE", "joules")]).unwrap_err()
        );
        assert!(e.contains("valid values: time, memory"), "{e}");
        let e = format!("{:#}", opts(&[("CNN_BENCH_HANG", "sleeping")]).unwrap_err());
        assert!(e.contains("valid stages: preparing, measuring"), "{e}");
        let h = opts(&[("CNN_BENCH_HANG", "measuring@/tch/")])
            .unwrap()
            .hang
            .unwrap();
        assert!(h.hits("a/cpu/inference/tch/size64-batch1", "measuring"));
        assert!(!h.hits("a/cpu/inference/tch/size64-batch1", "preparing"));
        assert!(!h.hits("a/cpu/inference/tract/size64-batch1", "measuring"));
        let e = format!(
            "{:#}",
            opts(&[("CNN_BENCH_ABORT", "measuring@(")]).unwrap_err()
        );
        assert!(e.starts_with("CNN_BENCH_ABORT: `(` is not"), "{e}");
        let a = opts(&[("CNN_BENCH_ABORT", "preparing")]).unwrap().abort;
        assert!(a.is_some_and(|a| a.hits("any/cpu/inference/tch/size64-batch1", "preparing")));
    }

    #[test]
    fn a_restarted_run_keeps_its_id_and_a_child_is_not_a_restart() {
        let o = opts(&[(RUN_ID_VAR, "7-1")]).unwrap();
        assert!(o.continuing && o.run_id == "7-1");
        assert_eq!(o.run_started(), Some(UNIX_EPOCH + Duration::from_secs(7)));
        let o = opts(&[(RUN_ID_VAR, "7-1"), ("CNN_BENCH_CHILD", "1")]).unwrap();
        assert!(!o.continuing && o.child);
        assert!(!opts(&[]).unwrap().continuing);
    }

    #[test]
    fn flags_become_variables_and_the_rest_goes_to_criterion() {
        let args: Vec<String> = [
            "--bench",
            "--resume",
            "--max-time",
            "420",
            "--shard=2/4",
            "resnet18",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (rest, vars) = flags_as_vars(&args).unwrap().unwrap();
        assert_eq!(rest, ["--bench", "resnet18"]);
        assert_eq!(
            vars,
            [
                ("CNN_BENCH_RESUME".to_string(), "1".to_string()),
                (MAX_TIME_VAR.to_string(), "420".to_string()),
                ("CNN_BENCH_SHARD".to_string(), "2/4".to_string()),
            ]
        );
        assert!(flags_as_vars(&rest).unwrap().is_none());
        assert!(flags_as_vars(&["--max-time".to_string()]).is_err());
        // `--resume=no` resumed: a flag's inline value was dropped.
        let e = flags_as_vars(&["--resume=no".to_string()]).unwrap_err();
        assert!(
            e.to_string()
                .contains("--resume takes no value (`--resume=no`)"),
            "{e}"
        );
    }
}
