//! How much of a grid a report holds: which benchmarks of a selection (the
//! one `--list` prints and a run measures) have a record, and which remain.

use super::{Cell, Row, Section, Table};
use crate::grid::{Case, Grid, Group};
use crate::identities::Framework;
use crate::record::Again;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The benchmarks a report was expected to hold, and those it lacks.
#[derive(Clone, Debug, PartialEq)]
pub struct Coverage {
    pub expected: usize,
    /// The expected benchmarks with no record, in the grid's order.
    pub missing: Vec<(Group, Case)>,
    /// How many of the recorded were measured with other step code than
    /// this build's (a resumed run measures them again); a record without
    /// its settings (from a CSV, or older than them) is not counted.
    pub stale: usize,
    /// How many of the recorded failed by a time limit shorter than their
    /// framework's in the grid now (a resumed run measures them again; see
    /// `Record::measured_again`).
    pub retried: usize,
    /// How many of the recorded were measured under another seed, target,
    /// budget or malloc than the grid's (a resumed run of the grid measures
    /// them again).
    pub other_settings: usize,
    /// Recorded benchmarks outside the selection (a folder that earlier
    /// runs with other settings also wrote to): in the tables too.
    pub outside: usize,
    /// Per group (`model/device/phase`, in the grid's order) and framework,
    /// what a resumed run measures: the never recorded, and the recorded
    /// it measures again. Groups with neither are left out.
    pub by_group: Vec<(String, BTreeMap<Framework, ToMeasure>)>,
}

/// One group's and framework's share of what a resumed run measures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ToMeasure {
    /// Never recorded.
    pub missing: usize,
    /// Recorded, measured again (older step code, failed by a shorter
    /// limit than the framework's now, or other settings than the grid's).
    pub again: usize,
}

impl std::ops::AddAssign for ToMeasure {
    fn add_assign(&mut self, other: Self) {
        self.missing += other.missing;
        self.again += other.again;
    }
}

/// The missing ids a report lists before it says "and N more".
const LISTED: usize = 30;

impl Coverage {
    /// Which of `cases` (of `grid`) none of `rows` records (failed ones are
    /// recorded), and how many of the recorded a resumed run measures again
    /// (`Record::measured_again`).
    pub fn of(grid: &Grid, cases: &[(Group, Case)], rows: &[Row]) -> Self {
        let recorded: HashMap<&str, &Row> =
            rows.iter().map(|r| (r.record.id.as_str(), r)).collect();
        let ids: Vec<String> = cases.iter().map(|(g, k)| g.bench_id(k)).collect();
        let selected: HashSet<&str> = ids.iter().map(String::as_str).collect();
        let mut c = Coverage {
            expected: cases.len(),
            missing: Vec::new(),
            stale: 0,
            retried: 0,
            other_settings: 0,
            outside: recorded.keys().filter(|id| !selected.contains(*id)).count(),
            by_group: Vec::new(),
        };
        for ((g, k), id) in cases.iter().zip(&ids) {
            let share = match recorded.get(id.as_str()) {
                None => {
                    c.missing.push((g.clone(), k.clone()));
                    ToMeasure {
                        missing: 1,
                        again: 0,
                    }
                }
                Some(r) => match r.record.measured_again(grid) {
                    None => continue,
                    Some(why) => {
                        match why {
                            Again::OlderStepCode => c.stale += 1,
                            Again::ShorterLimit => c.retried += 1,
                            Again::OtherSettings => c.other_settings += 1,
                        }
                        ToMeasure {
                            missing: 0,
                            again: 1,
                        }
                    }
                },
            };
            let group = g.id();
            let at = match c.by_group.iter().position(|(id, _)| *id == group) {
                Some(at) => at,
                None => {
                    c.by_group.push((group, BTreeMap::new()));
                    c.by_group.len() - 1
                }
            };
            *c.by_group[at].1.entry(k.framework).or_default() += share;
        }
        c
    }

    /// One line: how many are recorded, how many remain.
    pub fn line(&self) -> String {
        let again: Vec<String> = [
            (self.stale, "with older step code"),
            (
                self.retried,
                "failed by a shorter time limit than their framework's now",
            ),
            (
                self.other_settings,
                "measured under another seed, target, budget or malloc than the grid's",
            ),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .enumerate()
        .map(|(i, (n, what))| match i {
            0 => format!("{n} of them {what}"),
            _ => format!("{n} {what}"),
        })
        .collect();
        let stale = match again.is_empty() {
            true => String::new(),
            false => {
                // "a and b", "a, b and c".
                let (last, rest) = again.split_last().expect("not empty");
                let rest = match rest.is_empty() {
                    true => String::new(),
                    false => format!("{} and ", rest.join(", ")),
                };
                format!(" ({rest}{last}, which a resumed run measures again)")
            }
        };
        let outside = match self.outside {
            0 => String::new(),
            1 => {
                "; 1 other recorded benchmark, outside this selection, is in the tables too".into()
            }
            n => format!(
                "; {n} other recorded benchmarks, outside this selection, are in the tables too"
            ),
        };
        format!(
            "{} of {} selected benchmarks recorded{stale}; {} remain{outside}",
            self.expected - self.missing.len(),
            self.expected,
            self.missing.len()
        )
    }

    /// The report's first section: the line.
    pub fn section(&self) -> Section {
        Section {
            title: "Coverage".into(),
            text: vec![format!("{}.", self.line())],
            ..Section::default()
        }
    }

    /// The report's last section, when a resumed run has anything to
    /// measure (never recorded, or recorded and measured again): how much
    /// per group and framework, then the first missing ids (after the
    /// tables, which are what a reader opens the report for).
    pub fn remaining(&self) -> Option<Section> {
        if self.by_group.is_empty() {
            return None;
        }
        let mut items: Vec<String> = self
            .missing
            .iter()
            .take(LISTED)
            .map(|(g, k)| format!("`{}`", g.bench_id(k)))
            .collect();
        if self.missing.len() > LISTED {
            items.push(format!("and {} more", self.missing.len() - LISTED));
        }
        let mut text = vec![format!(
            "Not recorded yet: {}. Per group and framework, what a resumed run measures: the benchmarks not recorded yet and, in brackets, the recorded ones it measures again (older step code, failed by a shorter time limit than their framework's now, or measured under other settings than the grid's).",
            self.missing.len()
        )];
        if !self.missing.is_empty() {
            text.push(format!(
                "After the table, {} in the order one run of the whole selection measures them (scripts/gpu-grid.sh's passes go a few frameworks at a time).",
                match self.missing.len() > LISTED {
                    true => format!("the first {LISTED} not recorded yet"),
                    false => "those not recorded yet".to_string(),
                }
            ));
        }
        Some(Section {
            title: "Remaining benchmarks".into(),
            text,
            table: Some(self.remaining_table()),
            items,
            ..Section::default()
        })
    }

    /// `by_group` as a table: a row per group and a last row of sums, a
    /// column per framework with something left and a last of sums.
    fn remaining_table(&self) -> Table {
        let mut sums: BTreeMap<Framework, ToMeasure> = BTreeMap::new();
        for (fw, s) in self.by_group.iter().flat_map(|(_, shares)| shares) {
            *sums.entry(*fw).or_default() += *s;
        }
        let frameworks: Vec<Framework> = sums.keys().copied().collect();
        let row = |label: &str, shares: &BTreeMap<Framework, ToMeasure>| {
            let mut cells = vec![Cell::label(label)];
            cells.extend(frameworks.iter().map(|fw| cell(shares.get(fw).copied())));
            let mut all = ToMeasure::default();
            shares.values().for_each(|s| all += *s);
            cells.push(cell(Some(all)));
            cells
        };
        let mut rows: Vec<Vec<Cell>> = self
            .by_group
            .iter()
            .map(|(group, shares)| row(group, shares))
            .collect();
        rows.push(row("all", &sums));
        let mut columns = vec!["group".to_string()];
        columns.extend(frameworks.iter().map(|fw| fw.name().to_string()));
        columns.push("all".into());
        Table { columns, rows }
    }
}

/// `12 (4)`: never recorded, and recorded but measured again; empty for
/// nothing.
fn cell(share: Option<ToMeasure>) -> Cell {
    let Some(s) = share.filter(|s| s.missing + s.again > 0) else {
        return Cell::number("");
    };
    Cell {
        bracket: (s.again > 0).then(|| s.again.to_string()),
        ..Cell::number(s.missing)
    }
}
