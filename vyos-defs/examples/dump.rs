//! Prints the definition tree under a prefix, one line per node:
//! `cargo run -p vyos-defs --example dump -- DIR interfaces wireguard`
use vyos_defs::{DefKind, DefNode, Definitions};

fn show(n: &DefNode, path: &mut Vec<String>, depth: usize) {
    if depth > 12 {
        return;
    }
    for c in n.children.values() {
        path.push(c.name.clone());
        let kind = match c.kind {
            DefKind::Node => "node".to_string(),
            DefKind::Tag => "tag".to_string(),
            DefKind::Leaf => format!(
                "leaf{}{}",
                if c.multi { " multi" } else { "" },
                if c.valueless { " valueless" } else { "" }
            ),
        };
        let checks = c
            .constraint
            .iter()
            .chain(&c.constraint_groups)
            .flat_map(|k| &k.checks)
            .map(|ch| match ch {
                vyos_defs::Check::Regex(re) => format!("re:{}", re.source()),
                vyos_defs::Check::Validator { name, argument } => format!(
                    "v:{name}{}",
                    argument
                        .as_ref()
                        .map(|a| format!(" {a}"))
                        .unwrap_or_default()
                ),
            })
            .collect::<Vec<_>>()
            .join(" | ");
        let def = c
            .default_value
            .as_ref()
            .map(|d| format!(" default={d}"))
            .unwrap_or_default();
        println!("{} [{kind}] {checks}{def}", path.join(" "));
        show(c, path, depth + 1);
        path.pop();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let t = std::time::Instant::now();
    let defs = Definitions::load(std::path::Path::new(&args[0])).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "loaded in {:?}; unchecked validators: {:?}",
        t.elapsed(),
        defs.unchecked_validators()
    );
    let prefix: Vec<&str> = args[1..].iter().map(String::as_str).collect();
    let node = defs.node(&prefix).expect("no such definition path");
    let mut path: Vec<String> = args[1..].to_vec();
    show(node, &mut path, 0);
}
