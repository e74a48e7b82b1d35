//! `vxguard vyos validate|diff`.

use anyhow::{Context, Result};
use clap::Subcommand;
use std::io::Read;
use std::path::{Path, PathBuf};
use vyos_defs::Definitions;
use vyos_tree::{ConfigTree, NoSchema, Schema};

#[derive(Subcommand)]
pub enum VyosCmd {
    /// Check `set` lines (as `show configuration commands` prints them).
    Validate {
        /// A definitions directory holding `interface-definitions/`.
        #[arg(long)]
        defs: PathBuf,
        /// The file to check, or `-` for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Print the commands that turn OLD into NEW (`set` or `config.boot` form).
    Diff {
        old: PathBuf,
        new: PathBuf,
        /// Definitions, for exact single-value replacement and rendering.
        #[arg(long)]
        defs: Option<PathBuf>,
    },
}

fn read(file: &str) -> Result<String> {
    if file == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {file}"))
    }
}

pub fn run(cmd: VyosCmd) -> Result<bool> {
    match cmd {
        VyosCmd::Validate { defs, file } => {
            let d =
                Definitions::load(&defs).with_context(|| format!("loading {}", defs.display()))?;
            let text = read(&file)?;
            let name = if file == "-" {
                "<stdin>"
            } else {
                file.as_str()
            };
            let mut bad = 0;
            let mut total = 0;
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                total += 1;
                if !l.starts_with("set ") {
                    bad += 1;
                    println!("{name}:{}:1: expected a `set` command", i + 1);
                    continue;
                }
                // The line parser is the configuration tree's own.
                let path = match ConfigTree::parse_set(l, &NoSchema) {
                    Ok(t) => match t.commands().into_iter().next() {
                        Some(c) => c.path,
                        None => continue,
                    },
                    Err(e) => {
                        bad += 1;
                        println!("{name}:{}:{}: {}", i + 1, e.column, e.message);
                        continue;
                    }
                };
                let r = d.validate(&path);
                if let Err(e) = r {
                    bad += 1;
                    let col =
                        column_of_word(l, e.word + 1) + (line.len() - line.trim_start().len());
                    println!("{name}:{}:{}: {}", i + 1, col, e.reason);
                }
            }
            eprintln!("{total} commands, {bad} invalid");
            Ok(bad == 0)
        }
        VyosCmd::Diff { old, new, defs } => {
            let loaded = match &defs {
                Some(d) => {
                    Some(Definitions::load(d).with_context(|| format!("loading {}", d.display()))?)
                }
                None => None,
            };
            let schema: &dyn Schema = match &loaded {
                Some(d) => d,
                None => &NoSchema,
            };
            let parse = |p: &Path| -> Result<ConfigTree> {
                let t = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                ConfigTree::parse(&t, schema).map_err(|e| anyhow::anyhow!("{}:{e}", p.display()))
            };
            let (a, b) = (parse(&old)?, parse(&new)?);
            for c in vyos_tree::diff(&a, &b, schema) {
                println!("{}", c.to_cli(schema));
            }
            Ok(true)
        }
    }
}

/// 1-based column where word `n` (0-based) of a command line starts.
fn column_of_word(line: &str, n: usize) -> usize {
    let mut count = 0;
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        let sep = quote.is_none() && c.is_whitespace();
        if !sep && !in_word {
            if count == n {
                return i + 1;
            }
            count += 1;
            in_word = true;
        }
        if sep {
            in_word = false;
        }
        if c == '\'' || c == '"' {
            quote = match quote {
                Some(q) if q == c => None,
                None => Some(c),
                q => q,
            };
        }
    }
    1
}
