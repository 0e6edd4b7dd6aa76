//! How much of a grid a report holds: which benchmarks of a selection (the
//! one `--list` prints and a run measures) have a record, and which remain.

use super::{Row, Section};
use crate::grid::{Case, Group};
use std::collections::HashSet;

/// The benchmarks a report was expected to hold, and those it lacks.
#[derive(Clone, Debug, PartialEq)]
pub struct Coverage {
    pub expected: usize,
    /// Ids of the expected benchmarks with no record, in the grid's order.
    pub missing: Vec<String>,
    /// How many of the recorded were measured with other step code than
    /// this build's (a resumed run measures them again); a record without
    /// its settings (from a CSV, or older than them) is not counted.
    pub stale: usize,
    /// Recorded benchmarks outside the selection (a folder that earlier
    /// runs with other settings also wrote to): in the tables too.
    pub outside: usize,
}

/// The missing ids a report lists before it says "and N more".
const LISTED: usize = 30;

impl Coverage {
    /// Which of `cases` none of `rows` records (failed ones are recorded),
    /// and how many of the recorded are older step code.
    pub fn of(cases: &[(Group, Case)], rows: &[Row]) -> Self {
        let recorded: HashSet<&str> = rows.iter().map(|r| r.record.id.as_str()).collect();
        let stale: HashSet<&str> = rows
            .iter()
            .filter(|r| r.older_step_code())
            .map(|r| r.record.id.as_str())
            .collect();
        let ids: Vec<String> = cases.iter().map(|(g, c)| g.bench_id(c)).collect();
        let selected: HashSet<&str> = ids.iter().map(String::as_str).collect();
        Coverage {
            expected: cases.len(),
            outside: recorded.difference(&selected).count(),
            stale: ids.iter().filter(|id| stale.contains(id.as_str())).count(),
            missing: ids
                .into_iter()
                .filter(|id| !recorded.contains(id.as_str()))
                .collect(),
        }
    }

    /// One line: how many are recorded, how many remain.
    pub fn line(&self) -> String {
        let stale = match self.stale {
            0 => String::new(),
            n => format!(" ({n} of them with older step code, which a resumed run measures again)"),
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

    /// The report's last section, when any remain: the first missing ids
    /// (after the tables, which are what a reader opens the report for).
    pub fn remaining(&self) -> Option<Section> {
        if self.missing.is_empty() {
            return None;
        }
        let mut items: Vec<String> = self
            .missing
            .iter()
            .take(LISTED)
            .map(|id| format!("`{id}`"))
            .collect();
        if self.missing.len() > LISTED {
            items.push(format!("and {} more", self.missing.len() - LISTED));
        }
        Some(Section {
            title: "Remaining benchmarks".into(),
            text: vec![format!(
                "Not recorded yet: {}, in the order a run measures them.",
                self.missing.len()
            )],
            items,
            ..Section::default()
        })
    }
}
