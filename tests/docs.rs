//! The documentation and the scripts name what the harness reads: every
//! variable and flag a user can set is documented, and every `CNN_BENCH_*`
//! variable the docs or the scripts name is one the harness takes (it
//! refuses an unknown one, and a GPU script's misspelling would otherwise
//! be found only on the GPU machine, in its time).

use cnn_bench::config::ENV_VARS;
use cnn_bench::grid::Grid;
use cnn_bench::options::FLAGS;
use std::collections::BTreeSet;
use std::path::Path;

const CONFIG: &str = include_str!("../cnn-bench.toml");

/// The text of every file in `dir` (not below it) whose name ends in one of
/// `endings`, with its path.
fn files(dir: &str, endings: &[&str]) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            endings.iter().any(|end| name.ends_with(end))
        })
        .map(|p| {
            let text =
                std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p.display().to_string(), text)
        })
        .collect();
    out.sort();
    out
}

/// The user's documentation: the README and docs/.
fn docs() -> Vec<(String, String)> {
    let mut all = files(".", &["README.md"]);
    all.extend(files("docs", &[".md"]));
    assert!(all.len() > 3, "README.md and docs/*.md are read: {all:?}");
    all
}

/// Every `CNN_BENCH_<NAME>` in `text` (not the prefix alone, `CNN_BENCH_*`).
fn variables(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in text.match_indices("CNN_BENCH_") {
        let name: String = text[at..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if name.len() > "CNN_BENCH_".len() && !name.ends_with('_') {
            out.insert(name);
        }
    }
    out
}

/// Whether the harness takes `var` (any value: one it cannot parse is a
/// refusal of the value, not of the name).
fn taken(var: &str) -> bool {
    let vars = [(var.to_string(), "1".to_string())].into();
    match Grid::from_parts(CONFIG, Path::new("cnn-bench.toml"), &vars) {
        Ok(_) => true,
        Err(e) => !format!("{e:#}").contains("unknown variable"),
    }
}

#[test]
fn the_variable_check_refuses_a_misspelt_name() {
    assert!(taken("CNN_BENCH_MODELS"));
    assert!(!taken("CNN_BENCH_MODEL"));
    assert_eq!(
        variables("`CNN_BENCH_*`, CNN_BENCH_SIZES=224 and $CNN_BENCH_MAX_TIME."),
        ["CNN_BENCH_MAX_TIME", "CNN_BENCH_SIZES"]
            .map(String::from)
            .into()
    );
}

#[test]
fn every_variable_and_flag_of_the_harness_is_documented() {
    let docs = docs();
    let named = |s: &str| docs.iter().any(|(_, text)| text.contains(s));
    let undocumented: Vec<_> = ENV_VARS
        .iter()
        .map(|(var, _)| *var)
        .chain(FLAGS.iter().map(|f| f.name))
        .filter(|s| !named(s))
        .collect();
    assert!(
        undocumented.is_empty(),
        "named in neither README.md nor docs/*.md: {undocumented:?}"
    );
}

#[test]
fn every_variable_the_docs_and_scripts_name_is_one_the_harness_takes() {
    let mut texts = docs();
    texts.extend(files("scripts", &[".sh", ".py"]));
    texts.extend(files(".", &["Makefile", "cnn-bench.toml"]));
    texts.extend(files(".ci", &["run"]));
    let unknown: Vec<_> = texts
        .iter()
        .flat_map(|(path, text)| variables(text).into_iter().map(move |v| (path, v)))
        .filter(|(_, v)| !taken(v))
        .collect();
    assert!(
        unknown.is_empty(),
        "variables the harness refuses as unknown: {unknown:?}"
    );
}
