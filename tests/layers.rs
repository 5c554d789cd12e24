//! Layers without loops (ARCHITECTURE.md): read the `crate::…` paths of `src/` (code only, comments
//! left out) and fail on a forbidden edge — `storage` and `kernels` know nothing of `convert`,
//! `app` or `cli`; library modules know nothing of `app` or `cli`; the module graph has no cycle.
#![allow(clippy::unwrap_used, clippy::too_many_lines)] // test code (Cargo.toml [lints])

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every `.rs` file of `src/`: its path relative to `src/` and its text.
fn sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(&src).unwrap().to_string_lossy().to_string();
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Top-level module → the top-level modules its code names.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in sources() {
        let module = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let entry = out.entry(module.clone()).or_default();
        for line in text.lines() {
            let code = line.split("//").next().unwrap_or("");
            let mut rest = code;
            while let Some(i) = rest.find("crate::") {
                rest = &rest[i + 7..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let is_module = name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
                if is_module && name != module {
                    entry.insert(name);
                }
            }
        }
    }
    out
}

#[test]
fn the_module_graph_has_layers_without_loops() {
    let g = edges();
    assert!(
        g.len() >= 15,
        "modules found: {:?}",
        g.keys().collect::<Vec<_>>()
    );
    let mut bad = Vec::new();
    for (m, uses) in &g {
        for u in uses {
            let forbidden = match (m.as_str(), u.as_str()) {
                ("storage" | "kernels", "convert" | "app" | "cli") => true,
                ("cli", "app") => false,
                (_, "app" | "cli") => m != "app",
                _ => false,
            };
            if forbidden {
                bad.push(format!("{m} → {u}"));
            }
        }
    }
    assert!(bad.is_empty(), "forbidden edges: {bad:?}");
    // No cycle: every module's reach excludes itself.
    for start in g.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&String> = g[start].iter().collect();
        while let Some(x) = stack.pop() {
            if x == start {
                panic!("a cycle through {start}: {g:#?}");
            }
            if seen.insert(x.clone())
                && let Some(next) = g.get(x)
            {
                stack.extend(next.iter());
            }
        }
    }
    // The rule is not vacuous: the edges it reads are there.
    assert!(g["convert"].contains("storage") && g["cli"].contains("convert"));
}

/// Explicit configuration (ARCHITECTURE.md): the environment is read through `src/env.rs` by the
/// edges only — the CLI (`src/cli.rs`, which also hands wgpu's variables on; `src/main.rs`), the
/// app's start (`src/app/config.rs`) — and by the reference's storage-option helpers
/// (`src/storage/config.rs`, `AWS_*` as documented). Every other file of `src/` is fed
/// configuration values.
#[test]
fn only_the_edges_read_the_environment() {
    let allowed = ["env.rs", "cli.rs", "main.rs"];
    let mut readers = Vec::new();
    for (rel, text) in sources() {
        let reads = text.lines().any(|l| {
            let code = l.split("//").next().unwrap_or("");
            // std's readers and wgpu's (our own `X::from_env()` constructors live at the edges).
            [
                "std::env::var",
                "var_os(",
                "Backends::from_env",
                "Flags::from_env",
                "_from_env(",
            ]
            .iter()
            .any(|k| code.contains(k))
        });
        if reads {
            readers.push(rel);
        }
    }
    readers.sort();
    let stray: Vec<&String> = readers
        .iter()
        .filter(|r| !allowed.contains(&r.as_str()))
        .collect();
    assert!(
        stray.is_empty(),
        "environment read outside the edges: {stray:?}"
    );
    // Not vacuous: the reader and the edge that hands wgpu's variables on are found.
    assert!(readers.iter().any(|r| r == "env.rs") && readers.iter().any(|r| r == "cli.rs"));
    // And `crate::env` is used by the edges only.
    let users: Vec<String> = sources()
        .into_iter()
        .filter(|(_, text)| text.contains("crate::env::"))
        .map(|(rel, _)| rel)
        .collect();
    let edges = ["cli.rs", "app/config.rs", "storage/config.rs"];
    assert!(
        users.iter().all(|u| edges.contains(&u.as_str())),
        "crate::env used outside the edges: {users:?}"
    );
    assert_eq!(users.len(), edges.len(), "{users:?}");
}
