//! The parse floor: what mapguard would cost if it did nothing but find, read and parse the
//! files it is given — the same discovery, the same parser and the same thread pool, no
//! analysis. `bench/run` compares `mapguard check` against it.
//!
//! Usage: `parse_floor [-j N] PATHS...` (the paths of `mapguard check`); prints one JSON
//! object with the file count, the bytes read and the wall time.

use std::time::Instant;

use rayon::prelude::*;

fn main() {
    let mut jobs = None;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-j" => jobs = args.next().and_then(|n| n.parse().ok()),
            // `cargo bench` appends this flag to every bench binary.
            "--bench" => {}
            _ => paths.push(arg),
        }
    }
    let start = Instant::now();
    let discovery = match mapguard::discover::discover(&paths, true) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("parse_floor: {e}");
            std::process::exit(2);
        }
    };
    let files: Vec<_> = discovery.dirs.iter().flat_map(|d| &d.files).collect();
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(jobs) = jobs {
        pool = pool.num_threads(jobs);
    }
    let pool = pool.build().expect("thread pool");
    let (bytes, nodes) = pool.install(|| {
        files
            .par_iter()
            .map(|path| {
                let Ok(text) = std::fs::read_to_string(path) else {
                    return (0, 0);
                };
                let nodes = mapguard::parse::parse(&text, None)
                    .map(|p| p.tree.root_node().descendant_count())
                    .unwrap_or(0);
                (text.len(), nodes)
            })
            .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    println!(
        "{{\"files\": {}, \"bytes\": {bytes}, \"nodes\": {nodes}, \"seconds\": {:.3}}}",
        files.len(),
        start.elapsed().as_secs_f64()
    );
}
