//! The report as a document: sections of text, one table each and lists,
//! built once from the rows and rendered both as Markdown (report.md) and
//! as the HTML index page, so the two always say the same.

use super::{
    appendix, by_configuration, configuration, format_ns, frameworks_of, machines, timed, unique,
    Configuration, Row, SECTIONS,
};
use crate::contention::MARK;
use crate::grid::{Case, Group};
use crate::identities::Framework;
use crate::malloc::Malloc;
use std::collections::{BTreeMap, BTreeSet};

/// One section: a heading, paragraphs, a table, a list.
#[derive(Clone, Debug, Default)]
pub struct Section {
    pub title: String,
    /// Paragraphs, in Markdown's inline syntax (`code`, **strong**).
    pub text: Vec<String>,
    pub table: Option<Table>,
    pub items: Vec<String>,
    /// Whether `items` are numbered (the failure notes cells refer to).
    pub numbered: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Every row's cells as report.md writes them.
    pub fn markdown_rows(&self) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|r| r.iter().map(Cell::markdown).collect())
            .collect()
    }
}

/// A table cell: what Markdown shows, and what HTML adds.
#[derive(Clone, Debug, Default)]
pub struct Cell {
    pub text: String,
    /// A second figure, in brackets after the text in Markdown and on a
    /// line of its own in HTML (time relative to the row's fastest, peak
    /// memory): one line per figure keeps a ten-framework table narrow.
    pub bracket: Option<String>,
    /// The machine tag (`@M2`) when a table mixes machines.
    pub machine: Option<String>,
    /// Shown below the figures in HTML only (images per second).
    pub detail: Option<String>,
    /// A number (right-aligned in HTML).
    pub numeric: bool,
    /// The fastest framework of its row.
    pub fastest: bool,
}

impl Cell {
    /// The cell as report.md writes it: `45.86 ms (2.68) @M1`.
    pub fn markdown(&self) -> String {
        let mut out = self.text.clone();
        if let Some(b) = &self.bracket {
            out += &format!(" ({b})");
        }
        if let Some(m) = &self.machine {
            out += &format!(" {m}");
        }
        out
    }

    pub(super) fn label(text: impl ToString) -> Self {
        Cell {
            text: text.to_string(),
            ..Cell::default()
        }
    }

    pub(super) fn number(text: impl ToString) -> Self {
        Cell {
            text: text.to_string(),
            numeric: true,
            ..Cell::default()
        }
    }
}

/// The report of `rows`: a summary (over all, and by model), the study's
/// time tables, GPU memory,
/// the study's own ratios beside this run's, the estimates, the time per
/// benchmark, and the failures the cells refer to.
pub fn document(rows: &[Row]) -> Vec<Section> {
    document_awaiting(rows, &[])
}

/// [`document`] of a run or grid whose selected benchmarks `missing` have
/// no record: they are `…` in the tables (rows added where a configuration
/// has none), so that a blank cell only means a framework the selection
/// does not run there.
pub fn document_awaiting(rows: &[Row], missing: &[(Group, Case)]) -> Vec<Section> {
    let mut notes: Vec<String> = Vec::new();
    let mut out: Vec<Section> = super::summary::summary(rows).into_iter().collect();
    out.extend(super::by_model::by_model(rows));
    out.extend(super::by_model::by_model_this_build(rows));
    for (device, phase, title) in SECTIONS {
        let mine = timed(rows, device, phase);
        let waiting: BTreeSet<(Configuration, Framework)> = missing
            .iter()
            .filter(|(g, _)| g.device.to_string() == device && g.phase == phase)
            .map(|(g, k)| (configuration(g, k), k.framework))
            .collect();
        if !mine.is_empty() || !waiting.is_empty() {
            out.push(time_table(title, &mine, &waiting, &mut notes));
        }
    }
    let gpu: Vec<&Row> = rows
        .iter()
        .filter(|r| r.record.group.device.is_gpu())
        .collect();
    let waiting: BTreeSet<(Configuration, (String, Framework))> = missing
        .iter()
        .filter(|(g, _)| g.device.is_gpu())
        .map(|(g, k)| (configuration(g, k), (g.phase.to_string(), k.framework)))
        .collect();
    if !gpu.is_empty() || !waiting.is_empty() {
        out.push(memory_table(&gpu, &waiting, &mut notes));
    }
    out.extend(super::study::study(rows));
    out.extend(appendix::estimates(rows));
    out.extend(appendix::beside_other_work(rows));
    out.extend(appendix::run_time(rows));
    if !notes.is_empty() {
        out.push(Section {
            title: "Failed benchmarks".into(),
            items: notes,
            numbered: true,
            ..Section::default()
        });
    }
    out
}

/// Step time per configuration and framework: the mean, and in brackets
/// the time relative to the fastest framework of the row.
fn time_table(
    title: &str,
    mine: &[&Row],
    waiting: &BTreeSet<(Configuration, Framework)>,
    notes: &mut Vec<String>,
) -> Section {
    // Only the frameworks this section has or waits for (no empty train
    // columns for inference engines).
    let frameworks = unique(
        frameworks_of(mine)
            .into_iter()
            .chain(waiting.iter().map(|(_, f)| *f)),
    );
    let machines = machines(mine.iter().copied());
    let mixed = machines.len() > 1;
    let mut table = Table {
        columns: ["model", "size", "batch"]
            .iter()
            .map(|s| s.to_string())
            .chain(frameworks.iter().map(|f| f.to_string()))
            .collect(),
        rows: vec![],
    };
    let by_config = with_waiting(by_configuration(mine, |r| r.record.case.framework), waiting);
    for (configuration, cells) in by_config {
        let (model, size, batch) = &configuration;
        let fastest = cells
            .values()
            .filter_map(|r| r.mean())
            .fold(f64::INFINITY, f64::min);
        let mut row = vec![Cell::label(model), Cell::number(size), Cell::number(batch)];
        row.extend(frameworks.iter().map(|f| match cells.get(f) {
            None => waiting_cell(waiting.contains(&(configuration.clone(), *f))),
            Some(r) => {
                let mut cell = match r.mean() {
                    Some(mean) => Cell {
                        text: format!(
                            "{}{}",
                            if r.estimate().is_some() { "~" } else { "" },
                            format_ns(mean)
                        ),
                        bracket: Some(format!("{:.2}", mean / fastest)),
                        detail: Some(images_per_second(
                            r.record.case.batch as f64 / (mean * 1e-9),
                        )),
                        numeric: true,
                        fastest: mean == fastest,
                        ..Cell::default()
                    },
                    None => Cell::number(failed(r, notes)),
                };
                OLDER_CODE.on(&mut cell, r);
                BESIDE.on(&mut cell, r);
                if let Some(i) = machines.iter().position(|m| *m == r.machine()) {
                    if mixed {
                        cell.machine = Some(format!("@M{}", i + 1));
                    }
                }
                cell
            }
        }));
        table.rows.push(row);
    }
    Section {
        title: title.into(),
        text: [
            say_machines_and_threads(&machines, mine),
            say_malloc(mine),
            OLDER_CODE.said(mine),
            BESIDE.said(mine),
            say_waiting(waiting.len()),
        ]
        .concat(),
        table: Some(table),
        ..Section::default()
    }
}

/// NVML's process memory per configuration, framework and phase.
fn memory_table(
    gpu: &[&Row],
    waiting: &BTreeSet<(Configuration, (String, Framework))>,
    notes: &mut Vec<String>,
) -> Section {
    // Inference before train, as the reports always had them.
    let columns: Vec<(String, Framework)> = unique(
        gpu.iter()
            .map(|r| (r.record.group.phase.to_string(), r.record.case.framework))
            .chain(waiting.iter().map(|(_, c)| c.clone())),
    );
    let mut table = Table {
        columns: ["model", "size", "batch"]
            .iter()
            .map(|s| s.to_string())
            .chain(columns.iter().map(|(p, f)| format!("{f} {p}")))
            .collect(),
        rows: vec![],
    };
    let by_config = by_configuration(gpu, |r| {
        (r.record.group.phase.to_string(), r.record.case.framework)
    });
    for (configuration, cells) in with_waiting(by_config, waiting) {
        let (model, size, batch) = &configuration;
        let mut row = vec![Cell::label(model), Cell::number(size), Cell::number(batch)];
        row.extend(columns.iter().map(|c| match cells.get(c) {
            None => waiting_cell(waiting.contains(&(configuration.clone(), c.clone()))),
            Some(r) => {
                let mut cell = match r.memory() {
                    Some(m) => {
                        let v = |x: &crate::memory::Reading| {
                            x.mib().map_or("n/a".to_string(), |v| format!("{v:.0}"))
                        };
                        Cell {
                            bracket: Some(v(&m.nvml_peak_mib)),
                            ..Cell::number(v(&m.nvml_process_mib))
                        }
                    }
                    None => Cell::number(failed(r, notes)),
                };
                OLDER_CODE.on(&mut cell, r);
                cell
            }
        }));
        table.rows.push(row);
    }
    Section {
        title: "GPU memory (MiB, NVML, process; peak during preparation in brackets)".into(),
        text: [
            say_machines(&machines(gpu.iter().copied())),
            OLDER_CODE.said(gpu),
            say_waiting(waiting.len()),
        ]
        .concat(),
        table: Some(table),
        ..Section::default()
    }
}

/// The mark of a selected benchmark no row records yet.
const WAITING: &str = "…";

/// A table's rows by configuration with a row for every configuration
/// that only waits.
fn with_waiting<'a, K: Ord>(
    mut by_config: BTreeMap<Configuration, BTreeMap<K, &'a Row>>,
    waiting: &BTreeSet<(Configuration, impl Ord)>,
) -> BTreeMap<Configuration, BTreeMap<K, &'a Row>> {
    for (configuration, _) in waiting {
        by_config.entry(configuration.clone()).or_default();
    }
    by_config
}

/// A cell with no record: `…` where the selection waits for one, else blank.
fn waiting_cell(waits: bool) -> Cell {
    match waits {
        true => Cell::number(WAITING),
        false => Cell::default(),
    }
}

/// What `…` means, when a table has one.
fn say_waiting(n: usize) -> Vec<String> {
    match n {
        0 => vec![],
        n => vec![format!(
            "{WAITING} ({n} cells): not recorded yet; a resumed run measures them (\"Remaining benchmarks\", last); a blank cell is one the selection does not run."
        )],
    }
}

/// Which machine measured a table: one line, or, for several, a warning
/// and the legend of the `@M1`, `@M2` marks on its cells.
fn say_machines(machines: &[String]) -> Vec<String> {
    match machines {
        [] => vec![],
        [one] => vec![format!("Measured on: {one}.")],
        many => {
            let legend: Vec<String> = many
                .iter()
                .enumerate()
                .map(|(i, m)| format!("M{} = {m}", i + 1))
                .collect();
            vec![format!(
                "**Warning: this table mixes machines** ({}); each cell says which measured it, and ratios across machines compare the machines too.",
                legend.join("; ")
            )]
        }
    }
}

/// The mark of a figure measured with older step code than this build's.
pub(super) const OLDER: &str = "†";

/// A sign on the figures a rule picks, and what it means, said under a
/// table that has one.
struct Mark {
    sign: &'static str,
    marks: fn(&Row) -> bool,
    means: &'static str,
}

/// Figures a resumed run measures again.
const OLDER_CODE: Mark = Mark {
    sign: OLDER,
    marks: Row::older_step_code,
    means: "measured with older step code than this report's build (report.csv has each row's commit); a resumed run measures it again.",
};

/// Figures perhaps slower than the machine.
const BESIDE: Mark = Mark {
    sign: MARK,
    marks: Row::beside_other_work,
    means: "measured while other processes kept the machine busy (\"Measured beside other work\", below): its time may be slower than the machine's; measure it again on a quiet machine.",
};

impl Mark {
    fn on(&self, cell: &mut Cell, r: &Row) {
        if (self.marks)(r) {
            cell.text += self.sign;
        }
    }

    /// `† (3 cells): ...`, when a table has one.
    fn said(&self, rows: &[&Row]) -> Vec<String> {
        match rows.iter().filter(|r| (self.marks)(r)).count() {
            0 => vec![],
            n => vec![format!("{} ({n} cells): {}", self.sign, self.means)],
        }
    }
}

/// [`say_machines`], with how many CPU threads each framework had in a
/// CPU table, and a warning when it mixes thread counts (shards on
/// machines of one CPU model and other sizes: one thread per core by
/// default).
fn say_machines_and_threads(machines: &[String], rows: &[&Row]) -> Vec<String> {
    let mut threads: Vec<usize> = rows
        .iter()
        .filter(|r| !r.record.group.device.is_gpu())
        .map(|r| r.record.threads)
        .collect();
    threads.sort_unstable();
    threads.dedup();
    match (machines, &threads[..]) {
        (_, []) => say_machines(machines),
        ([one], [n]) => vec![format!(
            "Measured on: {one}, {n} CPU thread{} per framework.",
            if *n == 1 { "" } else { "s" }
        )],
        (_, [n]) => [say_machines(machines), vec![format!("CPU threads per framework: {n}.")]].concat(),
        _ => [
            say_machines(machines),
            vec![format!(
                "**Warning: this table mixes thread counts** ({}): times measured with one do not compare with the other's.",
                threads.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
            )],
        ]
        .concat(),
    }
}

/// Which malloc setting a table's runs used, when not glibc's defaults,
/// and a warning when it mixes them.
fn say_malloc(rows: &[&Row]) -> Vec<String> {
    let mut settings: Vec<Malloc> = rows.iter().map(|r| r.record.run.malloc).collect();
    settings.sort_by_key(|m| m.name());
    settings.dedup();
    match settings[..] {
        [Malloc::Default] | [] => vec![],
        [one] => vec![format!(
            "glibc's malloc: `{}` (freed memory kept for reuse; see docs/methodology.md).",
            one.name()
        )],
        _ => vec![format!(
            "**Warning: this table mixes malloc settings** ({}): times measured with one do not compare with the other's.",
            settings.iter().map(|m| format!("`{}`", m.name())).collect::<Vec<_>>().join(", ")
        )],
    }
}

/// Images per second with three significant digits (`0.41 img/s`, not `0`).
fn images_per_second(v: f64) -> String {
    match v {
        v if v >= 100.0 => format!("{v:.0} img/s"),
        v if v >= 10.0 => format!("{v:.1} img/s"),
        v if v >= 1.0 => format!("{v:.2} img/s"),
        v => format!("{v:.3} img/s"),
    }
}

/// `-` with a note number; the note names the benchmark and its reason.
fn failed(r: &Row, notes: &mut Vec<String>) -> String {
    let reason = r
        .record
        .reason
        .clone()
        .unwrap_or_else(|| "no estimate from criterion".into());
    let note = format!("`{}`: {}", r.record.id, reason.replace('|', "/"));
    let n = match notes.iter().position(|x| *x == note) {
        Some(i) => i + 1,
        None => {
            notes.push(note);
            notes.len()
        }
    };
    format!("- [{n}]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::code;
    use crate::report::test_row;

    fn row(framework: Framework, step_code: &str) -> Row {
        test_row(framework, 1, 1e6, step_code)
    }

    /// A figure measured with older step code than this build's says so in
    /// its cell and under its table: the next slice of a grid replaces it.
    #[test]
    fn figures_of_older_step_code_are_marked() {
        let rows = [
            row(Framework::Tch, code(Framework::Tch)),
            row(Framework::Candle, "0123456789abcdef"),
        ];
        let doc = document(&rows);
        let train = doc
            .iter()
            .find(|s| s.title == "Train step time, GPU")
            .unwrap();
        let cells = &train.table.as_ref().unwrap().markdown_rows()[0];
        assert_eq!(cells[3..], ["~1.00 ms (1.00)", "~1.00 ms† (1.00)"]);
        assert!(
            train
                .text
                .iter()
                .any(|t| t.starts_with("† (1 cells): measured with older step code")),
            "{:?}",
            train.text
        );
        let current = document(&rows[..1]);
        assert!(current
            .iter()
            .all(|s| s.text.iter().all(|t| !t.contains('†'))));
    }

    /// A selected benchmark with no record waits (`…`) in its cell, in a
    /// row of its own where its configuration has no record at all, in the
    /// time table and the memory table; a framework the selection does not
    /// run at a configuration stays blank.
    #[test]
    fn selected_benchmarks_not_recorded_yet_wait_in_the_tables() {
        use crate::grid::{Case, Group};
        use crate::identities::{Device, Phase};
        let rows = [
            row(Framework::Tch, code(Framework::Tch)),
            row(Framework::Candle, code(Framework::Candle)),
        ];
        let group = Group {
            model: "resnet18".into(),
            device: Device::Gpu(0),
            phase: Phase::Train,
        };
        let case = |framework, batch| Case {
            framework,
            size: 224,
            batch,
        };
        let missing = [
            (group.clone(), case(Framework::TchJit, 1)),
            (group.clone(), case(Framework::Tch, 8)),
        ];
        let doc = document_awaiting(&rows, &missing);
        let table = |title: &str| {
            let s = doc.iter().find(|s| s.title.starts_with(title)).unwrap();
            (s.table.as_ref().unwrap().markdown_rows(), s.text.clone())
        };
        let (train, text) = table("Train step time, GPU");
        assert_eq!(
            train,
            [
                [
                    "resnet18",
                    "224",
                    "1",
                    "~1.00 ms (1.00)",
                    "…",
                    "~1.00 ms (1.00)"
                ],
                ["resnet18", "224", "8", "…", "", ""],
            ]
        );
        assert!(
            text.iter()
                .any(|t| t.starts_with("… (2 cells): not recorded yet")),
            "{text:?}"
        );
        let (memory, _) = table("GPU memory");
        assert_eq!(memory[1][3..], ["…", "", ""]);
        // Without a selection, nothing waits.
        assert!(document(&rows).iter().all(|s| s.table.iter().all(|t| t
            .markdown_rows()
            .concat()
            .iter()
            .all(|c| c != "…"))));
    }
}
