//! `vxguard vyos validate|diff|defs`.

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use std::io::Read;
use std::path::{Path, PathBuf};
use vxguard_compiler::intent::VyosVersion;
use vyos_defs::{Definitions, Origin};
use vyos_tree::{ConfigTree, Schema};

#[derive(Subcommand)]
pub enum VyosCmd {
    /// Check `set` lines (as `show configuration commands` prints them).
    Validate {
        /// The VyOS release whose built-in definitions judge the lines.
        #[arg(long, default_value = "1.5", value_parser = parse_version)]
        version: VyosVersion,
        /// A vyos-1x checkout (or its `interface-definitions/`) to judge
        /// with instead of the built-in definitions.
        #[arg(long, value_name = "DIR")]
        defs: Option<PathBuf>,
        /// The file to check, or `-` for standard input.
        #[arg(default_value = "-")]
        file: String,
    },
    /// Print the commands that turn OLD into NEW (`set` or `config.boot` form).
    Diff {
        old: PathBuf,
        new: PathBuf,
        /// The VyOS release whose definitions shape the diff (exact
        /// single-value replacement and rendering).
        #[arg(long, default_value = "1.5", value_parser = parse_version)]
        version: VyosVersion,
        /// A vyos-1x checkout to use instead of the built-in definitions.
        #[arg(long, value_name = "DIR")]
        defs: Option<PathBuf>,
    },
    /// The compact definitions built into vxguard.
    Defs {
        #[command(subcommand)]
        cmd: DefsCmd,
    },
}

#[derive(Subcommand)]
pub enum DefsCmd {
    /// Derive a compact schema from a vyos-1x `interface-definitions` tree
    /// (vyos-defs/schemas/ holds the ones built in).
    Build {
        /// A vyos-1x checkout or its `interface-definitions/` directory.
        dir: PathBuf,
        /// Where to write the schema.
        #[arg(long)]
        out: PathBuf,
        /// The VyOS release these definitions are (e.g. 1.4).
        #[arg(long)]
        version: String,
        /// The vyos-1x branch; default: the checkout's (git).
        #[arg(long)]
        branch: Option<String>,
        /// The vyos-1x commit id; default: the checkout's HEAD (git).
        #[arg(long)]
        commit: Option<String>,
    },
    /// List the built-in schemas and where each came from.
    List,
}

fn parse_version(s: &str) -> Result<VyosVersion, String> {
    VyosVersion::parse(s).ok_or_else(|| {
        format!(
            "{s:?}: expected one of {}",
            crate::definitions::versions_text()
        )
    })
}

/// `git -C dir ARGS`, trimmed; `None` unless `dir` (or the checkout whose
/// `interface-definitions/` it is) is the top of a git checkout: a folder
/// copied into another repository must not take that repository's commit.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let top = PathBuf::from(run(&["rev-parse", "--show-toplevel"])?)
        .canonicalize()
        .ok()?;
    let me = dir.canonicalize().ok()?;
    (me == top || (me.ends_with("interface-definitions") && me.parent() == Some(&top)))
        .then_some(())?;
    run(args)
}

fn build(
    dir: &Path,
    out: &Path,
    version: String,
    branch: Option<String>,
    commit: Option<String>,
) -> Result<()> {
    if VyosVersion::parse(&version).is_none() {
        eprintln!("note: VyOS {version} is not a release vxguard compiles for; the schema is written all the same");
    }
    let commit = match commit.or_else(|| git(dir, &["rev-parse", "HEAD"])) {
        Some(c) => c,
        None => bail!(
            "{}: not a git checkout: say which vyos-1x commit it is with --commit",
            dir.display()
        ),
    };
    if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("--commit {commit:?}: expected a full commit id (40 hex digits)");
    }
    let branch = match branch.or_else(|| git(dir, &["rev-parse", "--abbrev-ref", "HEAD"])) {
        Some(b) if !b.is_empty() && !b.contains(char::is_whitespace) => b,
        Some(b) => bail!("--branch {b:?}: expected one word"),
        None => bail!(
            "{}: not a git checkout: say which vyos-1x branch it is with --branch",
            dir.display()
        ),
    };
    let defs = Definitions::load(dir).with_context(|| format!("loading {}", dir.display()))?;
    let text = defs.to_schema(&Origin {
        version,
        branch,
        commit,
    });
    std::fs::write(out, &text).with_context(|| format!("writing {}", out.display()))?;
    eprintln!("{}: {} bytes", out.display(), text.len());
    Ok(())
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
        VyosCmd::Defs {
            cmd:
                DefsCmd::Build {
                    dir,
                    out,
                    version,
                    branch,
                    commit,
                },
        } => {
            build(&dir, &out, version, branch, commit)?;
            Ok(true)
        }
        VyosCmd::Defs { cmd: DefsCmd::List } => {
            for b in vyos_defs::builtin::BUILTIN {
                let d = vyos_defs::builtin::parse(b)
                    .with_context(|| format!("built-in VyOS {}", b.version))?;
                let o = d.origin().expect("a schema has an origin");
                println!(
                    "{}\tvyos-1x {} {}\t{} bytes",
                    o.version,
                    o.branch,
                    o.commit,
                    b.text.len()
                );
            }
            Ok(true)
        }
        VyosCmd::Validate {
            version,
            defs,
            file,
        } => {
            let d = crate::definitions::one(version, defs.as_deref())?;
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
                let path = match ConfigTree::parse_set(l, &vyos_tree::NoSchema) {
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
        VyosCmd::Diff {
            old,
            new,
            version,
            defs,
        } => {
            let loaded = crate::definitions::one(version, defs.as_deref())?;
            let schema: &dyn Schema = &loaded;
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
