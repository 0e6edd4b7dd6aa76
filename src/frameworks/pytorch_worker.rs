//! The `pytorch` framework's worker: a Python process running
//! `pytorch_worker.py`, one JSON object per line each way. It is started
//! as a new Python, or, in a benchmark's child process, forked from the
//! run's zygote: one Python that imported torch and torchvision once, in the
//! parent harness, so that each child saves the seconds of that import (on
//! the GPU grid most of a `pytorch` cell's overhead).

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const WORKER: &str = include_str!("pytorch_worker.py");

/// The Python with torch and torchvision: `$CNN_BENCH_PYTHON`, else this
/// checkout's `.venv` (`make setup`), else the GPU machines'
/// `/opt/torch/.venv`, else `python3`.
pub(super) fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("CNN_BENCH_PYTHON") {
        return p.into();
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let gpu_machine = PathBuf::from("/opt/torch/.venv/bin/python");
    [venv, gpu_machine]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| "python3".into())
}

/// The zygote's socket, handed by the parent harness to its children.
pub const ZYGOTE_VAR: &str = "CNN_BENCH_PYTORCH_ZYGOTE";

/// A running worker and the line streams to it.
pub struct Worker {
    /// The process, when this one started it (a forked worker is the
    /// zygote's, and exits when its connection closes).
    child: Option<Child>,
    input: Box<dyn Write + Send>,
    output: Box<dyn BufRead + Send>,
    /// Its process id, as it says in its greeting.
    pub pid: u32,
}

impl Worker {
    /// A new worker and its greeting (versions, CUDA devices, process id):
    /// forked from the zygote when one is named, a new Python otherwise.
    pub fn start() -> Result<(Worker, Value)> {
        if let Some(path) = std::env::var_os(ZYGOTE_VAR) {
            match UnixStream::connect(&path) {
                Ok(s) => {
                    let output = Box::new(BufReader::new(s.try_clone()?));
                    let (w, hello) = Worker::greeted(None, Box::new(s), output)?;
                    eprintln!("cnn-bench: PyTorch worker {} forked by the zygote", w.pid);
                    return Ok((w, hello));
                }
                Err(e) => eprintln!(
                    "cnn-bench: the PyTorch zygote at {} does not answer ({e}); starting Python",
                    Path::new(&path).display()
                ),
            }
        }
        let py = python();
        let mut child = Command::new(&py)
            .args(["-c", WORKER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", py.display()))?;
        let input = Box::new(child.stdin.take().expect("piped"));
        let output = Box::new(BufReader::new(child.stdout.take().expect("piped")));
        Worker::greeted(Some(child), input, output)
    }

    fn greeted(
        child: Option<Child>,
        input: Box<dyn Write + Send>,
        output: Box<dyn BufRead + Send>,
    ) -> Result<(Worker, Value)> {
        let mut w = Worker {
            child,
            input,
            output,
            pid: 0,
        };
        let hello = w.answer()?; // once torch is imported
        w.pid = hello["pid"]
            .as_u64()
            .context("the PyTorch worker did not say its process id")? as u32;
        Ok((w, hello))
    }

    /// The worker's next line; an error when it says one or has exited.
    fn answer(&mut self) -> Result<Value> {
        let mut line = String::new();
        self.output.read_line(&mut line)?;
        ensure!(
            !line.is_empty(),
            "the PyTorch worker exited (its error is above)"
        );
        let v: Value = serde_json::from_str(&line).context("the PyTorch worker's answer")?;
        match v.get("error") {
            Some(e) => bail!("PyTorch: {}", e.as_str().unwrap_or("error")),
            None => Ok(v),
        }
    }

    /// Sends `request`, to run on `threads` CPU threads; the answer.
    pub fn call(&mut self, mut request: Value, threads: usize) -> Result<Value> {
        request["threads"] = json!(threads);
        writeln!(self.input, "{request}").context("writing to the PyTorch worker")?;
        self.input.flush()?;
        self.answer()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The zygote: a Python that imported torch and torchvision and forks a
/// worker for each connection to its socket. It dies with its harness
/// (`PR_SET_PDEATHSIG`) and when dropped.
pub struct Zygote {
    child: Child,
    path: PathBuf,
}

impl Zygote {
    /// Starts one listening in `dir`; returns once torch is imported.
    pub fn start(dir: &Path) -> Result<Zygote> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("pytorch-zygote.sock");
        let _ = std::fs::remove_file(&path);
        let py = python();
        let mut child = Command::new(&py)
            .args(["-c", WORKER, "--zygote"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", py.display()))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let ready = serde_json::from_str::<Value>(&line).ok();
        if ready.as_ref().and_then(|v| v.get("ready")).is_none() {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the PyTorch zygote did not start: {}", line.trim());
        }
        Ok(Zygote { child, path })
    }

    /// Its socket, for [`ZYGOTE_VAR`].
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Zygote {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.path);
    }
}
