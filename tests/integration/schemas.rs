//! schemas/ must match the Rust types. Run `scripts/regenerate-schemas` after changing them.

use std::collections::BTreeMap;
use std::path::Path;

#[test]
fn schemas_folder_matches_the_rust_types() {
    let expected = logistics_bridge::protocol::schema::all();
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
    let mut found = BTreeMap::new();
    collect(&folder, &folder, &mut found);
    let mut drift = Vec::new();
    for (path, text) in &expected {
        match found.get(path) {
            None => drift.push(format!("missing {path}")),
            Some(existing) if existing != text => drift.push(format!("changed {path}")),
            Some(_) => {}
        }
    }
    for path in found.keys().filter(|path| !expected.contains_key(*path)) {
        drift.push(format!("stale {path}"));
    }
    assert!(
        drift.is_empty(),
        "schemas/ drifted from the Rust types (run scripts/regenerate-schemas):\n{}",
        drift.join("\n")
    );
}

fn collect(root: &Path, folder: &Path, found: &mut BTreeMap<String, String>) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, found);
        } else if path.extension().is_some_and(|e| e == "json") {
            let relative = path.strip_prefix(root).expect("under root");
            let text = std::fs::read_to_string(&path).expect("readable");
            found.insert(relative.to_string_lossy().replace('\\', "/"), text);
        }
    }
}
