//! The 2021 study's published times beside this run's: its question,
//! PyTorch against TensorFlow, asked again configuration by configuration.
//! The study ran on other machines (an RTX 2060, an i7-9750H), so none of
//! its times is set against one of ours; the ratio between two frameworks
//! in the same configuration is. Its results are built in
//! (`seed-study/`, copied unchanged).

use super::document::{Cell, Section, Table, OLDER};
use super::{by_configuration, geometric_mean, machines, timed, Row, SECTIONS};
use crate::identities::{Framework, Phase};
use anyhow::{bail, Context, Result};

/// The study's frameworks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// TensorFlow 1.15: a static graph run by a session.
    Tf1,
    /// TensorFlow 2.5.
    Tf2,
    /// PyTorch 1.9.
    Pytorch,
}

/// One published benchmark of the study.
#[derive(Clone, Debug, PartialEq)]
pub struct Published {
    pub framework: Then,
    pub model: String,
    pub size: usize,
    pub batch: usize,
    /// `gpu` or `cpu`, as [`SECTIONS`] names devices.
    pub device: &'static str,
    pub phase: Phase,
    /// Mean seconds per step; `None` where the study's run failed (out of
    /// GPU memory), never a zero.
    pub seconds: Option<f64>,
}

/// The study's three files: train (GPU), inference on the GPU and the CPU.
const FILES: [(&str, &str); 3] = [
    ("train.csv", include_str!("../../seed-study/train.csv")),
    (
        "inference_gpu.csv",
        include_str!("../../seed-study/inference_gpu.csv"),
    ),
    (
        "inference_cpu.csv",
        include_str!("../../seed-study/inference_cpu.csv"),
    ),
];

/// Every published benchmark of the study.
pub fn published() -> Result<Vec<Published>> {
    let mut out = Vec::new();
    for (name, text) in FILES {
        for (i, line) in text.lines().enumerate().skip(1) {
            out.push(parse(line).with_context(|| format!("seed-study/{name}, line {}", i + 1))?);
        }
    }
    Ok(out)
}

/// One line: `index;framework;model;(H, W, 3);batch;mode;gpu;seconds;MiB`.
fn parse(line: &str) -> Result<Published> {
    let fields: Vec<&str> = line.split(';').collect();
    let [_, framework, model, size, batch, mode, _, seconds, _] = fields[..] else {
        bail!("{} fields where the study has 9", fields.len());
    };
    let framework = match framework {
        "tf1" => Then::Tf1,
        "tf2" => Then::Tf2,
        "pytorch" => Then::Pytorch,
        other => bail!("framework `{other}`: not tf1, tf2 or pytorch"),
    };
    let (device, phase) = match mode {
        "train" => ("gpu", Phase::Train),
        "inference_gpu" => ("gpu", Phase::Inference),
        "inference_cpu" => ("cpu", Phase::Inference),
        other => bail!("mode `{other}`: not train, inference_gpu or inference_cpu"),
    };
    let height = size.trim_start_matches('(').split(',').next().unwrap_or("");
    Ok(Published {
        framework,
        model: model.to_string(),
        size: height
            .trim()
            .parse()
            .with_context(|| format!("input size `{size}`"))?,
        batch: batch.parse().with_context(|| format!("batch `{batch}`"))?,
        device,
        phase,
        seconds: match seconds {
            "-" => None,
            s => Some(s.parse().with_context(|| format!("time `{s}`"))?),
        },
    })
}

/// One of the study's questions, asked again of a run: the study's ratios
/// (one of its frameworks over another) beside ours.
pub(crate) struct Question {
    title: &'static str,
    /// What is compared, and which way is better (`{here}`: this run's
    /// machines).
    intro: &'static str,
    /// Its figures' title (after the table's name) and file name.
    pub figure: &'static str,
    pub file: &'static str,
    /// The study's ratios: numerator, denominator, their names.
    pub then: &'static [(Then, Then, &'static str)],
    /// Ours: numerator, denominator.
    pub ours: &'static [(Framework, Framework)],
}

const QUESTIONS: [Question; 2] = [
    Question {
        title: "The 2021 study beside this run: PyTorch against TensorFlow",
        figure: "PyTorch's over TensorFlow's, the 2021 study's and this run's (above 1: TensorFlow the faster)",
        file: "pytorch-tensorflow",
        intro: "The study this project reproduces (\"TensorFlow vs PyTorch\", 2021: TensorFlow 1.15, TensorFlow 2.5 and PyTorch 1.9 on an NVIDIA GeForce RTX 2060 and an Intel i7-9750H) asked which framework is faster. Its machines are not this run's ({here}), so its times are not set against ours; its ratios are: PyTorch's time over TensorFlow's in the same configuration, from the study's published means (`seed-study/`), beside this run's `pytorch` (PyTorch from Python) and `tch` (PyTorch's engine from Rust) over `tensorflow` (TensorFlow's graph mode from Rust, a static graph as TensorFlow 1's). Above 1, TensorFlow was the faster.",
        then: &[
            (Then::Pytorch, Then::Tf2, "PyTorch 1.9 / TF 2.5"),
            (Then::Pytorch, Then::Tf1, "PyTorch 1.9 / TF 1.15"),
        ],
        ours: &[
            (Framework::Pytorch, Framework::Tensorflow),
            (Framework::Tch, Framework::Tensorflow),
        ],
    },
    Question {
        title: "The 2021 study beside this run: a static graph against eager execution",
        figure: "a static graph's over eager execution's, the 2021 study's and this run's (below 1: the graph the faster)",
        file: "graph-eager",
        intro: "The study's other question: does a static graph run faster than eager execution? Its TensorFlow 1.15 (a static graph run by a session) over its TensorFlow 2.5 (whose default is eager execution), from the study's published means (`seed-study/`), beside this run's `tch-jit` (the model traced to a TorchScript graph, run by libtorch's graph executor) over `tch` (the same model, op by op). Its machines are not this run's ({here}): ratios only. Below 1, the graph was the faster.",
        then: &[(Then::Tf1, Then::Tf2, "TF 1.15 / TF 2.5")],
        ours: &[(Framework::TchJit, Framework::Tch)],
    },
];

/// One framework's time over another's in one configuration.
pub(crate) struct Ratio {
    pub point: f64,
    /// The conservative 95% interval (low over high, high over low), when
    /// criterion measured both.
    pub interval: Option<(f64, f64)>,
    /// Either side is an estimate (`~`).
    pub estimate: bool,
    /// Either side is of older step code (`†`).
    pub older: bool,
}

impl Ratio {
    fn of(a: &Row, b: &Row) -> Option<Self> {
        let interval = match (a.estimates, b.estimates) {
            (Some(a), Some(b)) => Some((a.mean.low / b.mean.high, a.mean.high / b.mean.low)),
            _ => None,
        };
        Some(Ratio {
            point: a.mean()? / b.mean()?,
            interval,
            estimate: a.estimate().is_some() || b.estimate().is_some(),
            older: a.older_step_code() || b.older_step_code(),
        })
    }

    fn cell(&self) -> Cell {
        Cell {
            text: format!(
                "{}{:.2}{}",
                if self.estimate { "~" } else { "" },
                self.point,
                if self.older { OLDER } else { "" }
            ),
            bracket: self.interval.map(|(lo, hi)| format!("{lo:.2}-{hi:.2}")),
            ..Cell::number("")
        }
    }
}

/// How a column of ratios came out: `1.51 (21 of 24 above 1)`, with `more`
/// inside the brackets.
fn said(name: &str, ratios: &[f64], more: &str) -> String {
    let above = ratios.iter().filter(|&&r| r > 1.0).count();
    format!(
        "{name} {:.2} ({above} of {} above 1{more})",
        geometric_mean(ratios),
        ratios.len()
    )
}

/// What our ratios add: how many were above or below 1 beyond noise (the
/// interval clear of it), and how many are of older step code.
fn beyond_noise(ratios: &[&Ratio]) -> String {
    let clear =
        |f: fn(&(f64, f64)) -> bool| ratios.iter().filter_map(|r| r.interval).filter(f).count();
    let older = ratios.iter().filter(|r| r.older).count();
    format!(
        "; beyond noise {} above, {} below{}",
        clear(|(lo, _)| *lo > 1.0),
        clear(|(_, hi)| *hi < 1.0),
        if older > 0 {
            format!("; {older} of older step code, {OLDER}")
        } else {
            String::new()
        }
    )
}

/// A question answered on one of the study's tables (device, phase):
/// per configuration both study and run have, the study's ratios and ours.
pub(crate) struct Answer<'a> {
    pub question: &'static Question,
    pub device: &'static str,
    pub phase: Phase,
    /// The table's name ("Inference step time, CPU").
    title: &'static str,
    pub lines: Vec<Line>,
    /// The rows our ratios came from.
    used: Vec<&'a Row>,
}

/// One configuration of an [`Answer`].
pub(crate) struct Line {
    pub model: String,
    pub size: usize,
    pub batch: usize,
    /// The study's ratios, in [`Question::then`]'s order (`None`: its run
    /// failed).
    pub then: Vec<Option<f64>>,
    /// Ours, in [`Question::ours`]'s order (`None`: not measured here).
    pub ours: Vec<Option<Ratio>>,
}

/// Every question on every table where this run answers it: every
/// configuration the study published in which this run has one of the
/// question's ratios. `tensorflow` runs on the CPU only, so the first
/// question has CPU inference answers alone.
pub(crate) fn answers(rows: &[Row]) -> Vec<Answer<'_>> {
    let published = published().expect("seed-study's files parse (a test reads every line)");
    let mut out = Vec::new();
    for question in &QUESTIONS {
        for (device, phase, title) in SECTIONS {
            let a = answer(question, &published, rows, (device, phase, title));
            if !a.lines.is_empty() {
                out.push(a);
            }
        }
    }
    out
}

fn answer<'a>(
    q: &'static Question,
    published: &[Published],
    rows: &'a [Row],
    (device, phase, title): (&'static str, Phase, &'static str),
) -> Answer<'a> {
    // The study's mean: `None` where it has no such benchmark, `Some(None)`
    // where its run failed.
    let then = |model: &str, size, batch, framework| {
        published
            .iter()
            .find(|p| {
                (p.device, p.phase, p.model.as_str(), p.size, p.batch)
                    == (device, phase, model, size, batch)
                    && p.framework == framework
            })
            .map(|p| p.seconds)
    };
    let mut a = Answer {
        question: q,
        device,
        phase,
        title,
        lines: Vec::new(),
        used: Vec::new(),
    };
    let mine = timed(rows, device, phase);
    for ((model, size, batch), cells) in by_configuration(&mine, |r| r.record.case.framework) {
        if then(&model, size, batch, Then::Pytorch).is_none() {
            continue; // not in the study's grid
        }
        let ours: Vec<Option<Ratio>> = q
            .ours
            .iter()
            .map(|(x, y)| Ratio::of(cells.get(x)?, cells.get(y)?))
            .collect();
        if ours.iter().all(Option::is_none) {
            continue;
        }
        let ratio = |x, y| Some(then(&model, size, batch, x)?? / then(&model, size, batch, y)??);
        let then = q.then.iter().map(|(x, y, _)| ratio(*x, *y)).collect();
        a.used.extend(
            q.ours
                .iter()
                .flat_map(|(x, y)| [x, y])
                .filter_map(|f| cells.get(f).copied()),
        );
        a.lines.push(Line {
            model,
            size,
            batch,
            then,
            ours,
        });
    }
    a
}

/// The study's questions, each a section where this run answers it: a
/// row per configuration answered, and per table a sentence of geometric
/// means.
pub(super) fn study(rows: &[Row]) -> Vec<Section> {
    let answers = answers(rows);
    QUESTIONS
        .iter()
        .filter_map(|q| {
            let mine: Vec<&Answer> = answers
                .iter()
                .filter(|a| std::ptr::eq(a.question, q))
                .collect();
            section(q, &mine)
        })
        .collect()
}

fn section(q: &Question, answers: &[&Answer]) -> Option<Section> {
    if answers.is_empty() {
        return None;
    }
    let mut table = Table {
        columns: ["table", "model", "size", "batch"]
            .iter()
            .map(|s| s.to_string())
            .chain(q.then.iter().map(|(_, _, name)| format!("2021: {name}")))
            .chain(q.ours.iter().map(|(a, b)| format!("{a} / {b}")))
            .collect(),
        rows: vec![],
    };
    let mut found = Vec::new();
    for a in answers {
        let mut theirs: Vec<Vec<f64>> = vec![Vec::new(); q.then.len()];
        let mut ours: Vec<Vec<&Ratio>> = vec![Vec::new(); q.ours.len()];
        for line in &a.lines {
            let mut row = vec![
                Cell::label(a.title),
                Cell::label(&line.model),
                Cell::number(line.size),
                Cell::number(line.batch),
            ];
            for (i, r) in line.then.iter().enumerate() {
                row.push(match r {
                    Some(r) => {
                        theirs[i].push(*r);
                        Cell::number(format!("{r:.2}"))
                    }
                    None => Cell::number("- (failed)"),
                });
            }
            for (i, r) in line.ours.iter().enumerate() {
                row.push(r.as_ref().map_or_else(Cell::default, Ratio::cell));
                ours[i].extend(r);
            }
            table.rows.push(row);
        }
        let then: Vec<String> = q
            .then
            .iter()
            .zip(&theirs)
            .filter(|(_, r)| !r.is_empty())
            .map(|((_, _, name), r)| said(name, r, ""))
            .collect();
        let now: Vec<String> = q
            .ours
            .iter()
            .zip(&ours)
            .filter(|(_, r)| !r.is_empty())
            .map(|((x, y), r)| {
                let points: Vec<f64> = r.iter().map(|r| r.point).collect();
                said(&format!("{x} / {y}"), &points, &beyond_noise(r))
            })
            .collect();
        let then = if then.is_empty() {
            "no time published for these configurations".to_string()
        } else {
            then.join("; ")
        };
        found.push(format!(
            "{}, geometric means: in the study, {then}; in this run, {}.",
            a.title,
            now.join("; ")
        ));
    }
    // One table (tensorflow's, on the CPU only): the paragraph above names
    // it, a column would repeat it on every row.
    if answers.len() == 1 {
        table.columns.remove(0);
        table.rows.iter_mut().for_each(|r| {
            r.remove(0);
        });
    }
    let here = machines(answers.iter().flat_map(|a| a.used.iter().copied())).join(", ");
    let mut text = vec![
        q.intro.replace("{here}", &here),
        "In brackets the conservative 95% interval of our ratio (the low end of one interval over the high end of the other, and the reverse); `~` an estimate (no interval); `†` a figure of older step code; `- (failed)` a configuration the study's run did not complete.".to_string(),
    ];
    text.extend(found);
    Some(Section {
        title: q.title.into(),
        text,
        table: Some(table),
        ..Section::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identities::Device;
    use crate::report::{test_row, Estimates, Interval};

    #[test]
    fn every_published_line_parses_and_failures_are_no_time() {
        let p = published().unwrap();
        // 7 models x 3 sizes x 4 batches x 3 frameworks, in each of 3 files.
        assert_eq!(p.len(), 3 * 252);
        let failed: Vec<&Published> = p.iter().filter(|p| p.seconds.is_none()).collect();
        assert_eq!(failed.len(), 72);
        assert!(failed.iter().all(|p| p.phase == Phase::Train));
        assert!(p.iter().filter_map(|p| p.seconds).all(|s| s > 0.0));
        // The first line of inference_cpu.csv.
        assert!(p.contains(&Published {
            framework: Then::Tf1,
            model: "resnet18".into(),
            size: 128,
            batch: 1,
            device: "cpu",
            phase: Phase::Inference,
            seconds: Some(0.008672776222229),
        }));
        assert!(parse("0;tf3;resnet18;(128, 128, 3);1;train;0;0.1;1").is_err());
        assert!(parse("0;tf1;resnet18;(128, 128, 3);1;train;0;0.1").is_err());
    }

    /// A criterion-measured CPU inference row of `model` at 128, batch 1.
    fn cpu(f: Framework, model: &str, low: f64, mean: f64, high: f64) -> Row {
        let mut r = test_row(f, 1, mean, crate::record::code(f));
        r.record.group.device = Device::Cpu;
        r.record.group.phase = Phase::Inference;
        r.record.group.model = model.into();
        r.record.case.size = 128;
        r.record.estimate = None;
        let i = Interval {
            point: mean,
            low,
            high,
        };
        r.estimates = Some(Estimates { mean: i, median: i });
        r
    }

    #[test]
    fn the_studys_ratio_beside_ours_where_tensorflow_ran() {
        let rows = [
            cpu(Framework::Tensorflow, "resnet18", 9.0, 10.0, 11.0),
            cpu(Framework::Pytorch, "resnet18", 14.0, 15.0, 16.0),
            cpu(Framework::Tch, "resnet18", 9.5, 10.0, 10.5),
            // Not in the study's grid: left out.
            cpu(Framework::Tensorflow, "densenet121", 9.0, 10.0, 11.0),
            cpu(Framework::Pytorch, "densenet121", 9.0, 10.0, 11.0),
        ];
        let sections = study(&rows);
        assert_eq!(sections.len(), 1, "no tch-jit: the first question only");
        let s = &sections[0];
        assert_eq!(s.title, QUESTIONS[0].title);
        // seed-study/inference_cpu.csv, resnet18 at 128, batch 1: tf1
        // 0.008672776222229 s, tf2 0.0107517790794372 s, pytorch
        // 0.0075066590309143 s.
        let (tf1, tf2, pytorch) = (0.008672776222229, 0.0107517790794372, 0.0075066590309143);
        assert_eq!(
            s.table.as_ref().unwrap().markdown_rows(),
            [[
                "resnet18".to_string(),
                "128".into(),
                "1".into(),
                format!("{:.2}", pytorch / tf2),
                format!("{:.2}", pytorch / tf1),
                "1.50 (1.27-1.78)".into(),
                "1.00 (0.86-1.17)".into(),
            ]]
        );
        assert_eq!(
            s.text.last().unwrap(),
            &format!(
                "Inference step time, CPU, geometric means: in the study, PyTorch 1.9 / TF 2.5 \
                 {:.2} (0 of 1 above 1); PyTorch 1.9 / TF 1.15 {:.2} (0 of 1 above 1); in this \
                 run, pytorch / tensorflow 1.50 (1 of 1 above 1; beyond noise 1 above, 0 \
                 below); tch / tensorflow 1.00 (0 of 1 above 1; beyond noise 0 above, 0 below).",
                pytorch / tf2,
                pytorch / tf1
            )
        );
        // Without tensorflow there is nothing to set beside the study.
        assert!(study(&rows[1..3]).is_empty());
    }

    #[test]
    fn the_studys_graph_against_eager_beside_tch_jit_against_tch() {
        // resnet18's GPU train step at 224, batch 1, as estimates.
        let rows = [
            test_row(Framework::Tch, 1, 10e6, crate::record::code(Framework::Tch)),
            test_row(Framework::TchJit, 1, 8e6, "0123456789abcdef"),
        ];
        let sections = study(&rows);
        assert_eq!(sections.len(), 1);
        assert_eq!(sections[0].title, QUESTIONS[1].title);
        // seed-study/train.csv, resnet18 at 224, batch 1: tf1
        // 0.0214041900634765 s, tf2 0.023924176692962647 s.
        let (tf1, tf2) = (0.0214041900634765, 0.023924176692962647);
        assert_eq!(
            sections[0].table.as_ref().unwrap().markdown_rows(),
            [[
                "resnet18".to_string(),
                "224".into(),
                "1".into(),
                format!("{:.2}", tf1 / tf2),
                "~0.80†".into(),
            ]]
        );
        assert!(sections[0].text.last().unwrap().starts_with(&format!(
            "Train step time, GPU, geometric means: in the study, TF 1.15 / TF 2.5 {:.2} \
             (0 of 1 above 1); in this run, tch-jit / tch 0.80 (0 of 1 above 1; beyond \
             noise 0 above, 0 below; 1 of older step code, †).",
            tf1 / tf2
        )));
    }
}
