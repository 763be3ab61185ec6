//! The project's invariants (ARCHITECTURE.md, "Invariants") that a reading of the source text
//! can keep, kept by a test, the way rust-analyzer keeps its own (its `tidy.rs`): every `*.rs`
//! under `crates/` and `tests/` is read as text, each rule is a function over one file that
//! returns its violations, and the test fails with all of them, one `path:line: rule: what to
//! do` a line.
//!
//! The rules:
//!
//! - `print`: libraries return, binaries print. No `print!`, `println!`, `eprint!`,
//!   `eprintln!`, `dbg!`, `stdout()` or `stderr()` in library code.
//! - `backend-cfg`: backends are named in one place. `feature = "flex"` (or `"ndarray"`,
//!   `"wgpu"`, `"cuda"`), in `cfg`, `cfg_attr` or `cfg!`, only in `crates/model/src/backend.rs`.
//! - `error-source`: errors keep their cause as a source, and each message says only its own
//!   level. In an enum deriving `Error`, no message interpolates its variant's source (`#[source]`,
//!   `#[from]`, or a field named `source`), and no variant is a bare `String`; in library code,
//!   no `map_err` closure turns its error into a string to build an `…Error::Variant`.
//! - `unsafe`: `unsafe` only in [`UNSAFE_ALLOWED`], each `unsafe {` block with a `// SAFETY:`
//!   comment; every crate root says `#![forbid(unsafe_code)]`, or `#![deny(unsafe_code)]` where
//!   its crate holds an allowed file (which then says `allow(unsafe_code)`).
//! - `fail-point`: `DIGITS_TEST_CRASH_AT` in library code only under
//!   `#[cfg(feature = "fail-points")]`.
//!
//! *Library code* is a file under `crates/NAME/src/` of a crate with a `src/lib.rs`, other than
//! `src/main.rs` and `src/bin/`, up to its first `#[cfg(test)]` line (the unit tests sit at the
//! end). Comments never count, and string literals count only where a rule is about one (a
//! feature name, an error message, the crash variable's name): each file is read through
//! [`Source`], which blanks them out.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::Path;

/// The one file where `backend-cfg` allows a backend's feature.
const BACKEND_FILE: &str = "crates/model/src/backend.rs";

/// The files that may hold `unsafe` (the AVX2 batch and the warp's unchecked float-to-int
/// conversion).
const UNSAFE_ALLOWED: [&str; 1] = ["crates/data/src/augment.rs"];

/// The backends' feature names.
const BACKENDS: [&str; 4] = ["flex", "ndarray", "wgpu", "cuda"];

/// The macros and functions that write to the terminal.
const PRINT_MACROS: [&str; 5] = ["print", "println", "eprint", "eprintln", "dbg"];
const STD_STREAMS: [&str; 2] = ["stdout", "stderr"];

/// The crash hook's environment variable, and the feature that must gate it.
const CRASH_VAR: &str = "DIGITS_TEST_CRASH_AT";
const FAIL_POINTS_CFG: &str = "#[cfg(feature=\"fail-points\")]";

/// How many lines of code above a use of [`CRASH_VAR`] may hold its cfg (comment lines in between
/// are free), and above an `unsafe {` block its SAFETY comment.
const CFG_REACH: usize = 5;
const SAFETY_REACH: usize = 3;

#[test]
fn tidy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root");
    let files = read_sources(root);
    // A wrong root finds nothing and would pass; the files the rules name must be there too, or
    // an allowance has outlived its file.
    assert!(
        files.len() > 80,
        "found only {} .rs files under {}: is that the workspace root?",
        files.len(),
        root.display()
    );
    for named in std::iter::once(BACKEND_FILE).chain(UNSAFE_ALLOWED) {
        assert!(
            files.iter().any(|f| f.path == named),
            "{named} is named by tests/tests/tidy.rs but does not exist: update the rule"
        );
    }

    let violations: Vec<Violation> = files.iter().flat_map(check).collect();
    if !violations.is_empty() {
        let mut per_rule = BTreeMap::<&str, usize>::new();
        for v in &violations {
            *per_rule.entry(v.rule).or_default() += 1;
        }
        let counts: Vec<String> = per_rule.iter().map(|(r, n)| format!("{r}: {n}")).collect();
        let list: Vec<String> = violations.iter().map(|v| v.to_string()).collect();
        panic!(
            "{} violations of the invariants in ARCHITECTURE.md ({}):\n{}",
            violations.len(),
            counts.join(", "),
            list.join("\n")
        );
    }
}

/// Every rule, over one file.
fn check(file: &Source) -> Vec<Violation> {
    let mut all = Vec::new();
    all.extend(check_print(file));
    all.extend(check_backend_cfg(file));
    all.extend(check_error_enums(file));
    all.extend(check_map_err(file));
    all.extend(check_unsafe(file));
    all.extend(check_crate_root(file));
    all.extend(check_fail_point(file));
    all
}

/// One broken rule: where, which, and what to do.
#[derive(Debug)]
struct Violation {
    path: String,
    line: usize,
    rule: &'static str,
    message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Violation {
            path,
            line,
            rule,
            message,
        } = self;
        write!(f, "{path}:{line}: {rule}: {message}")
    }
}

/// One source file, read three ways with the same byte offsets: as written (`text`), with its
/// comments blanked out (`plain`), and with its comments and the contents of its string and char
/// literals blanked out (`code`; the quotes stay). Blanking keeps every newline and replaces each
/// other character by as many spaces as it has bytes.
struct Source {
    /// Relative to the workspace root, with `/`.
    path: String,
    text: String,
    plain: String,
    code: String,
    /// Where its library code ends, if it is library code (its first `#[cfg(test)]` line, or
    /// its end).
    library_end: Option<usize>,
    /// The byte offset of each line's start.
    line_starts: Vec<usize>,
}

impl Source {
    fn new(path: &str, text: &str, library: bool) -> Source {
        let plain = blank(text, false);
        let code = blank(text, true);
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let library_end = library.then(|| {
            let mut at = 0;
            for line in code.split_inclusive('\n') {
                if line.trim_start().starts_with("#[cfg(test)]") {
                    return at;
                }
                at += line.len();
            }
            code.len()
        });
        Source {
            path: path.to_string(),
            text: text.to_string(),
            plain,
            code,
            library_end,
            line_starts,
        }
    }

    /// The 1-based line of a byte offset.
    fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset)
    }

    /// Whether a byte offset is in library code.
    fn in_library(&self, offset: usize) -> bool {
        self.library_end.is_some_and(|end| offset < end)
    }

    fn violation(&self, offset: usize, rule: &'static str, message: String) -> Violation {
        Violation {
            path: self.path.clone(),
            line: self.line(offset),
            rule,
            message,
        }
    }
}

/// Every `*.rs` under `crates/` and `tests/` (not in `target/`, `node_modules/` or a hidden
/// directory), sorted by path.
fn read_sources(root: &Path) -> Vec<Source> {
    fn walk(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if path.is_dir() {
                if name != "target" && name != "node_modules" && !name.starts_with('.') {
                    walk(&path, found);
                }
            } else if name.ends_with(".rs") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    for top in ["crates", "tests"] {
        walk(&root.join(top), &mut found);
    }
    let texts: BTreeMap<String, String> = found
        .iter()
        .map(|p| {
            let rel = p.strip_prefix(root).expect("under the root");
            let rel = rel.to_string_lossy().replace('\\', "/");
            let text = fs::read_to_string(p).unwrap_or_else(|e| panic!("{rel}: {e}"));
            (rel, text)
        })
        .collect();
    let paths: BTreeSet<String> = texts.keys().cloned().collect();
    let binary = binary_modules(&texts);
    texts
        .iter()
        .map(|(rel, text)| Source::new(rel, text, is_library(rel, &paths, &binary)))
        .collect()
}

/// The modules that a crate's `src/main.rs` declares (`mod NAME;`) and its `src/lib.rs` does
/// not, as `crates/CRATE/src/NAME`: binary code, though in `src/` (`train`'s progress bar).
fn binary_modules(texts: &BTreeMap<String, String>) -> BTreeSet<String> {
    let declared = |root: &str| -> BTreeSet<String> {
        let Some(text) = texts.get(root) else {
            return BTreeSet::new();
        };
        let code = blank(text, true);
        let dir = root.rsplit_once('/').map_or("", |(dir, _)| dir);
        let mut names = BTreeSet::new();
        let mut words = idents(&code).peekable();
        while let Some((_, word)) = words.next() {
            if word != "mod" {
                continue;
            }
            if let Some(&(at, name)) = words.peek() {
                if next_char(&code, at + name.len()).map(|(_, c)| c) == Some(';') {
                    names.insert(format!("{dir}/{name}"));
                }
            }
        }
        names
    };
    let mut binary = BTreeSet::new();
    for path in texts.keys() {
        if let Some(src) = path
            .strip_suffix("/main.rs")
            .filter(|p| p.ends_with("/src"))
        {
            let library = declared(&format!("{src}/lib.rs"));
            binary.extend(declared(path).difference(&library).cloned());
        }
    }
    binary
}

/// Whether a file is library code: under `crates/NAME/src/` of a crate with a `src/lib.rs`,
/// and not `src/main.rs`, in `src/bin/`, or a module of `main.rs` alone (`binary`, from
/// [`binary_modules`]). (The `tests` package's helpers are test code, and a crate without a
/// library, like `bench`, is a binary.)
fn is_library(path: &str, all: &BTreeSet<String>, binary: &BTreeSet<String>) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() < 4 || parts[0] != "crates" || parts[2] != "src" {
        return false;
    }
    let in_src = &parts[3..];
    let module = format!(
        "crates/{}/src/{}",
        parts[1],
        in_src[0].trim_end_matches(".rs")
    );
    let binary = in_src == ["main.rs"] || in_src[0] == "bin" || binary.contains(&module);
    !binary && all.contains(&format!("crates/{}/src/lib.rs", parts[1]))
}

/// `text` with its comments blanked out, and with `literals` the contents of its string and
/// char literals too (see [`Source`]).
fn blank(text: &str, literals: bool) -> String {
    // Byte by byte: every delimiter is ASCII, and a character of several bytes is kept or
    // hidden whole (one space a byte), so the result is UTF-8 with the same offsets.
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let at = |i: usize| bytes.get(i).copied();
    let hide = |out: &mut Vec<u8>, b: u8| out.push(if b == b'\n' { b'\n' } else { b' ' });
    // A literal's contents: hidden or kept.
    let inner = |out: &mut Vec<u8>, b: u8| {
        if literals {
            hide(out, b);
        } else {
            out.push(b);
        }
    };
    // A raw string starting at `i` (r"…", r#"…"#, br"…"): its number of hashes and the offset of
    // its opening quote.
    let raw_string = |i: usize| {
        let start = match (at(i), at(i + 1)) {
            (Some(b'r'), _) => i + 1,
            (Some(b'b'), Some(b'r')) => i + 2,
            _ => return None,
        };
        let hashes = bytes[start..].iter().take_while(|&&h| h == b'#').count();
        (at(start + hashes) == Some(b'"')).then_some((hashes, start + hashes))
    };
    // The length of the character starting with byte `b`.
    let char_len = |b: u8| match b {
        0xF0.. => 4,
        0xE0.. => 3,
        0xC0.. => 2,
        _ => 1,
    };
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let after_ident = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if c == b'/' && at(i + 1) == Some(b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                hide(&mut out, bytes[i]);
                i += 1;
            }
        } else if c == b'/' && at(i + 1) == Some(b'*') {
            let mut depth = 0;
            while i < bytes.len() {
                if bytes[i] == b'/' && at(i + 1) == Some(b'*') {
                    depth += 1;
                } else if bytes[i] == b'*' && at(i + 1) == Some(b'/') {
                    depth -= 1;
                } else {
                    hide(&mut out, bytes[i]);
                    i += 1;
                    continue;
                }
                out.extend_from_slice(b"  ");
                i += 2;
                if depth == 0 {
                    break;
                }
            }
        } else if let Some((hashes, open)) = raw_string(i).filter(|_| !after_ident) {
            out.extend_from_slice(&bytes[i..=open]);
            i = open + 1;
            while i < bytes.len() {
                if bytes[i] == b'"' && (1..=hashes).all(|k| at(i + k) == Some(b'#')) {
                    out.extend_from_slice(&bytes[i..=i + hashes]);
                    i += hashes + 1;
                    break;
                }
                inner(&mut out, bytes[i]);
                i += 1;
            }
        } else if c == b'"' {
            out.push(b'"');
            i += 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        out.push(b'"');
                        i += 1;
                        break;
                    }
                    b'\\' => {
                        inner(&mut out, b'\\');
                        if let Some(e) = at(i + 1) {
                            inner(&mut out, e);
                        }
                        i += 2;
                    }
                    other => {
                        inner(&mut out, other);
                        i += 1;
                    }
                }
            }
        } else if c == b'\''
            && (at(i + 1) == Some(b'\\')
                || at(i + 1).is_some_and(|b| at(i + 1 + char_len(b)) == Some(b'\'')))
        {
            // A char literal ('x', '×', '\n', '\u{…}'); a lifetime or label ('a) is code.
            let end = if at(i + 1) == Some(b'\\') {
                (i + 3..bytes.len())
                    .find(|&j| bytes[j] == b'\'')
                    .unwrap_or(bytes.len() - 1)
            } else {
                i + 1 + char_len(bytes[i + 1])
            };
            out.push(b'\'');
            for &b in &bytes[i + 1..end] {
                inner(&mut out, b);
            }
            out.push(b'\'');
            i = end + 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    String::from_utf8(out).expect("whole characters kept or hidden")
}

/// The identifiers of `code`, with their byte offsets.
fn idents(code: &str) -> impl Iterator<Item = (usize, &str)> {
    let bytes = code.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            if is_ident(bytes[i]) && (i == 0 || !is_ident(bytes[i - 1])) {
                let start = i;
                while i < bytes.len() && is_ident(bytes[i]) {
                    i += 1;
                }
                return Some((start, &code[start..i]));
            }
            i += 1;
        }
        None
    })
}

/// The first character after `offset` that is not whitespace, and its offset.
fn next_char(code: &str, offset: usize) -> Option<(usize, char)> {
    code[offset..]
        .char_indices()
        .find(|(_, c)| !c.is_whitespace())
        .map(|(i, c)| (offset + i, c))
}

/// The last character before `offset` that is not whitespace.
fn prev_char(code: &str, offset: usize) -> Option<char> {
    code[..offset].chars().rev().find(|c| !c.is_whitespace())
}

/// The offset of the bracket that closes the one at `open`, in `code` (whose literals and
/// comments are blank, so that only real brackets count).
fn closing(code: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in code.bytes().enumerate().skip(open) {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The ranges of `code[start..end]` between its top-level commas, trimmed, empty ones left out.
fn split_top(code: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut from = start;
    let mut push = |from: usize, to: usize| {
        let piece = &code[from..to];
        let lead = piece.len() - piece.trim_start().len();
        let trail = piece.len() - piece.trim_end().len();
        if from + lead < to - trail {
            parts.push((from + lead, to - trail));
        }
    };
    for (i, b) in code.bytes().enumerate().take(end).skip(start) {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                push(from, i);
                from = i + 1;
            }
            _ => {}
        }
    }
    push(from, end);
    parts
}

/// `text` without whitespace.
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

// ---------------------------------------------------------------------------------------------
// print: libraries return, binaries print.

fn check_print(file: &Source) -> Vec<Violation> {
    let code = &file.code;
    let mut found = Vec::new();
    for (at, ident) in idents(code) {
        if !file.in_library(at) {
            continue;
        }
        let after = at + ident.len();
        let next = next_char(code, after).map(|(_, c)| c);
        let printing = PRINT_MACROS.contains(&ident) && next == Some('!');
        // `stdout()`, `io::stdout()`, `std::io::stderr`; not a method or field
        // (`Command::stdout(…)`, `output.stdout`).
        let stream = STD_STREAMS.contains(&ident)
            && prev_char(code, at) != Some('.')
            && (next == Some('(') || code[..at].trim_end().ends_with("::"));
        if printing || stream {
            let what = if printing {
                format!("{ident}!")
            } else {
                format!("{ident}()")
            };
            found.push(file.violation(
                at,
                "print",
                format!(
                    "{what} in library code: return the value (a type with Display) or the error, \
                     and let the binary print it"
                ),
            ));
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// backend-cfg: backends are named in one place.

fn check_backend_cfg(file: &Source) -> Vec<Violation> {
    if file.path == BACKEND_FILE {
        return Vec::new();
    }
    let mut found = Vec::new();
    for (at, ident) in idents(&file.code) {
        if ident != "feature" {
            continue;
        }
        // `feature = "NAME"`: the name is a literal, so read from `plain`.
        let Some((eq, '=')) = next_char(&file.code, at + ident.len()) else {
            continue;
        };
        let Some((quote, '"')) = next_char(&file.code, eq + 1) else {
            continue;
        };
        let Some(len) = file.code[quote + 1..].find('"') else {
            continue;
        };
        let name = &file.plain[quote + 1..quote + 1 + len];
        if BACKENDS.contains(&name) {
            found.push(file.violation(
                at,
                "backend-cfg",
                format!(
                    "feature = \"{name}\" outside {BACKEND_FILE}: ask `model` (model::Backend, \
                     Backend::compiled(), Backend::device()) instead of naming a backend's feature"
                ),
            ));
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// error-source: errors keep their cause as a source; a message says only its own level.

/// In every enum deriving `Error`: no message interpolates the variant's source, and no variant
/// is a bare `String`.
fn check_error_enums(file: &Source) -> Vec<Violation> {
    let code = &file.code;
    let mut found = Vec::new();
    let mut searched_to = 0;
    for (at, ident) in idents(code) {
        if ident != "derive" || at < searched_to {
            continue;
        }
        let Some((open, '(')) = next_char(code, at + ident.len()) else {
            continue;
        };
        let Some(close) = closing(code, open) else {
            continue;
        };
        searched_to = close;
        if !idents(&code[open..close]).any(|(_, name)| name == "Error") {
            continue;
        }
        // The item the derive is on: the first `enum` or `struct` after it.
        let Some((kw, kind)) = idents(&code[close..])
            .map(|(i, name)| (close + i, name))
            .find(|(_, name)| ["enum", "struct", "union"].contains(name))
        else {
            continue;
        };
        if kind != "enum" {
            continue;
        }
        let Some(brace) = code[kw..].find('{').map(|i| kw + i) else {
            continue;
        };
        let Some(end) = closing(code, brace) else {
            continue;
        };
        for (start, stop) in split_top(code, brace + 1, end) {
            found.extend(check_variant(file, start, stop));
        }
    }
    found
}

/// One variant of an error enum, at `file.code[start..end]`.
fn check_variant(file: &Source, start: usize, end: usize) -> Vec<Violation> {
    let code = &file.code;
    let mut found = Vec::new();
    // Its attributes, then its name, then its fields.
    let mut at = start;
    let mut message = None;
    while code[at..end].starts_with('#') {
        let Some(open) = code[at..end].find('[').map(|i| at + i) else {
            return found;
        };
        let Some(close) = closing(code, open) else {
            return found;
        };
        if code[open + 1..close].trim_start().starts_with("error") {
            message = Some((open, close));
        }
        at = next_char(code, close + 1).map_or(end, |(i, _)| i.min(end));
    }
    let Some((name_at, name)) = idents(&code[at..end]).next() else {
        return found;
    };
    let name_at = at + name_at;
    let after_name = next_char(code, name_at + name.len()).filter(|&(i, _)| i < end);
    let fields = match after_name {
        Some((open, '{' | '(')) => closing(code, open).map(|close| (open, close)),
        _ => None,
    };
    let tuple = matches!(after_name, Some((_, '(')));

    // The fields: their names (or indices) and whether each is a source.
    let mut sources = Vec::new();
    let mut types = Vec::new();
    if let Some((open, close)) = fields {
        for (index, (f_start, f_end)) in split_top(code, open + 1, close).into_iter().enumerate() {
            let field = &code[f_start..f_end];
            let mut rest = field;
            let mut marked = false;
            while rest.starts_with('#') {
                let Some(close) = closing(rest, 0) else { break };
                let inner = squeeze(&rest[1..=close]);
                marked |= inner == "[source]" || inner == "[from]";
                rest = rest[close + 1..].trim_start();
            }
            let (label, ty) = if tuple {
                (index.to_string(), rest)
            } else {
                let (name, ty) = rest.split_once(':').unwrap_or((rest, ""));
                let name = name.trim().trim_start_matches("pub ").trim();
                (name.to_string(), ty)
            };
            // thiserror takes a field named `source` as the source, marked or not.
            if marked || (!tuple && label == "source") {
                sources.push(label);
            }
            types.push(squeeze(ty));
        }
    }

    if tuple
        && types.len() == 1
        && ["String", "std::string::String", "alloc::string::String"].contains(&&*types[0])
    {
        found.push(file.violation(
            name_at,
            "error-source",
            format!(
                "{name}(String): a bare string where the cause belongs; keep the error as a \
                 #[source] field, or the facts as named fields"
            ),
        ));
    }

    let Some((open, close)) = message else {
        return found;
    };
    if idents(&code[open..close]).any(|(_, word)| word == "transparent") {
        return found;
    }
    // The format string is the attribute's first literal; the arguments follow it.
    let Some(q1) = code[open..close].find('"').map(|i| open + i) else {
        return found;
    };
    let Some(q2) = code[q1 + 1..close].find('"').map(|i| q1 + 1 + i) else {
        return found;
    };
    let placeholders = format_names(&file.plain[q1 + 1..q2]);
    let args = &code[q2 + 1..close];
    for source in &sources {
        // `{source}`, `{source:?}`, `{0}`, or `.source` / `.0` as an argument.
        let in_string = placeholders.iter().any(|p| p == source);
        let as_arg = args.match_indices(&format!(".{source}")).any(|(i, m)| {
            !args[i + m.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
        });
        if in_string || as_arg {
            let shown = format!("{{{source}}}");
            found.push(file.violation(
                name_at,
                "error-source",
                format!(
                    "{name}'s message shows its source ({shown}): say only this level; the \
                     source is reported after it (anyhow's {{:#}}, model::error_chain)"
                ),
            ));
        }
    }
    found
}

/// The argument names of a format string's placeholders (`{name}`, `{0:?}`, …; `{{` is text).
fn format_names(format: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '{' {
            if chars.peek() == Some(&'{') {
                chars.next();
                continue;
            }
            let spec: String = chars.by_ref().take_while(|&c| c != '}').collect();
            let name = spec.split(':').next().unwrap_or("").trim();
            names.push(name.to_string());
        }
    }
    names
}

/// In library code: no `map_err(|e| …)` that turns `e` into a string (`e.to_string()`,
/// `format!("{e}")`, `format!("…", e)`) while building an `…Error::Variant`.
///
/// Only a *variant* counts (an `Error`-suffixed type, `::`, then a capitalised name), not an
/// associated function: `serve`'s `ApiError::internal(…)` and `ApiError::bad_request(…)` build
/// an HTTP response, whose message is the body sent to a client that cannot follow a source
/// chain. Turning the cause into text there is the boundary doing its job, not a cause lost, so
/// the rule leaves those constructors alone by its very pattern.
fn check_map_err(file: &Source) -> Vec<Violation> {
    let code = &file.code;
    let mut found = Vec::new();
    for (at, ident) in idents(code) {
        if ident != "map_err" || !file.in_library(at) {
            continue;
        }
        let Some((open, '(')) = next_char(code, at + ident.len()) else {
            continue;
        };
        let Some(close) = closing(code, open) else {
            continue;
        };
        let mut bar = match next_char(code, open + 1) {
            Some((i, '|')) => i,
            Some((i, 'm')) if code[i..].starts_with("move") => match next_char(code, i + 4) {
                Some((j, '|')) => j,
                _ => continue,
            },
            _ => continue,
        };
        let Some(len) = code[bar + 1..close].find('|') else {
            continue;
        };
        let param = code[bar + 1..bar + 1 + len].trim();
        if param.is_empty()
            || param == "_"
            || !param.chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        bar += 1 + len;
        let body = bar + 1..close;
        let Some(variant) = error_variant(&code[body.clone()]) else {
            continue;
        };
        if stringifies(file, body, param) {
            found.push(file.violation(
                at,
                "error-source",
                format!(
                    "map_err turns `{param}` into a string to build {variant}: keep it as the \
                     variant's #[source] field (the message says only this level)"
                ),
            ));
        }
    }
    found
}

/// The first `SomethingError::Variant` path in `code`, if any.
fn error_variant(code: &str) -> Option<String> {
    idents(code).find_map(|(at, ident)| {
        let rest = code[at + ident.len()..].strip_prefix("::")?;
        let variant = idents(rest).next().filter(|(i, _)| *i == 0)?.1;
        (ident.ends_with("Error") && variant.starts_with(char::is_uppercase))
            .then(|| format!("{ident}::{variant}"))
    })
}

/// Whether `file.code[body]` turns the variable `param` into a string.
fn stringifies(file: &Source, body: std::ops::Range<usize>, param: &str) -> bool {
    let code = &file.code;
    let base = body.start;
    let text = &code[body];
    for (i, ident) in idents(text) {
        let at = base + i;
        let after = at + ident.len();
        // `param.to_string()`
        if ident == param
            && prev_char(code, at) != Some('.')
            && !code[..at].ends_with("::")
            && code[after..]
                .chars()
                .filter(|c| !c.is_whitespace())
                .take(12)
                .eq(".to_string()".chars())
        {
            return true;
        }
        // `format!("…{param}…")` or `format!("…", param)`
        if ident == "format" {
            let Some((bang, '!')) = next_char(code, after) else {
                continue;
            };
            let Some((open, '(')) = next_char(code, bang + 1) else {
                continue;
            };
            let Some(close) = closing(code, open) else {
                continue;
            };
            let Some(q1) = code[open..close].find('"').map(|i| open + i) else {
                continue;
            };
            let Some(q2) = code[q1 + 1..close].find('"').map(|i| q1 + 1 + i) else {
                continue;
            };
            let named = format_names(&file.plain[q1 + 1..q2])
                .iter()
                .any(|n| n == param);
            let positional = split_top(code, q2 + 1, close).into_iter().any(|(s, e)| {
                let arg = squeeze(&code[s..e]);
                arg == param || arg == format!("&{param}")
            });
            if named || positional {
                return true;
            }
        }
    }
    false
}

// ---------------------------------------------------------------------------------------------
// unsafe: only where allowed, each block with a SAFETY comment, every other crate forbidding it.

fn check_unsafe(file: &Source) -> Vec<Violation> {
    let allowed = UNSAFE_ALLOWED.contains(&file.path.as_str());
    let mut found = Vec::new();
    let mut any = false;
    for (at, ident) in idents(&file.code) {
        if ident != "unsafe" {
            continue;
        }
        any = true;
        if !allowed {
            found.push(file.violation(
                at,
                "unsafe",
                format!(
                    "unsafe outside {}: write it in safe code (a safe crate such as rustix for \
                     system calls), or argue for the file in ARCHITECTURE.md and tidy.rs",
                    UNSAFE_ALLOWED.join(", ")
                ),
            ));
        } else if next_char(&file.code, at + ident.len()).map(|(_, c)| c) == Some('{')
            && !has_safety_comment(file, file.line(at))
        {
            found.push(file.violation(
                at,
                "unsafe",
                format!(
                    "unsafe block without a `// SAFETY:` comment (on its line, in the comment \
                     just above it, or within {SAFETY_REACH} lines above): say why it is sound"
                ),
            ));
        }
    }
    if allowed && any && !squeeze(&file.code).contains("allow(unsafe_code") {
        found.push(file.violation(
            0,
            "unsafe",
            "holds unsafe but no #[allow(unsafe_code)] (its crate root denies it): allow it on \
             the items that need it"
                .to_string(),
        ));
    }
    found
}

/// Whether line `line` (1-based) or the lines above it hold a `// SAFETY:` comment: the comment
/// block right above counts whole, and past it up to [`SAFETY_REACH`] lines of code.
fn has_safety_comment(file: &Source, line: usize) -> bool {
    let lines: Vec<&str> = file.text.lines().collect();
    if lines[line - 1].contains("// SAFETY:") {
        return true;
    }
    let mut code_lines = 0;
    for above in lines[..line - 1].iter().rev() {
        if above.contains("// SAFETY:") {
            return true;
        }
        if !above.trim_start().starts_with("//") {
            code_lines += 1;
            if code_lines >= SAFETY_REACH {
                return false;
            }
        }
    }
    false
}

/// A crate root (`src/lib.rs`, `src/main.rs`, `src/bin/NAME.rs`, `src/bin/NAME/main.rs` of any
/// package) says `#![forbid(unsafe_code)]`; a library whose crate holds a file of
/// [`UNSAFE_ALLOWED`] says `#![deny(unsafe_code)]` instead, so that the file can allow it.
fn check_crate_root(file: &Source) -> Vec<Violation> {
    let parts: Vec<&str> = file.path.split('/').collect();
    let (package, in_package) = match parts.as_slice() {
        ["crates", name, rest @ ..] => (format!("crates/{name}"), rest),
        ["tests", rest @ ..] => ("tests".to_string(), rest),
        _ => return Vec::new(),
    };
    let root = matches!(
        in_package,
        ["src", "lib.rs" | "main.rs"] | ["src", "bin", _] | ["src", "bin", _, "main.rs"]
    );
    if !root {
        return Vec::new();
    }
    let library = in_package == ["src", "lib.rs"];
    let holds_unsafe = UNSAFE_ALLOWED.iter().any(|allowed| {
        allowed
            .strip_prefix(&format!("{package}/src/"))
            .is_some_and(|rest| rest != "main.rs" && !rest.starts_with("bin/"))
    });
    let wanted = if library && holds_unsafe {
        "#![deny(unsafe_code)]"
    } else {
        "#![forbid(unsafe_code)]"
    };
    // `#![forbid(unsafe_code, …)]` says it too.
    if squeeze(&file.code).contains(wanted.trim_end_matches(")]")) {
        return Vec::new();
    }
    let why = if wanted.contains("deny") {
        "its crate holds allowed unsafe code, which that file allows item by item"
    } else {
        "it holds no unsafe code, and must not start to"
    };
    vec![file.violation(
        0,
        "unsafe",
        format!("crate root without {wanted}: add it ({why})"),
    )]
}

// ---------------------------------------------------------------------------------------------
// fail-point: the crash hook only behind its feature.

fn check_fail_point(file: &Source) -> Vec<Violation> {
    let mut found = Vec::new();
    let plain_lines: Vec<&str> = file.plain.lines().collect();
    let text_lines: Vec<&str> = file.text.lines().collect();
    for (at, _) in file.plain.match_indices(CRASH_VAR) {
        if !file.in_library(at) {
            continue;
        }
        let line = file.line(at);
        // Look up through the lines above: comment lines are free, code lines count.
        let mut code_lines = 0;
        let mut gated = false;
        for (plain, text) in plain_lines[..line - 1]
            .iter()
            .zip(&text_lines[..line - 1])
            .rev()
        {
            if text.trim_start().starts_with("//") {
                continue;
            }
            if squeeze(plain).starts_with(FAIL_POINTS_CFG) {
                gated = true;
                break;
            }
            code_lines += 1;
            if code_lines >= CFG_REACH {
                break;
            }
        }
        if !gated {
            found.push(file.violation(
                at,
                "fail-point",
                format!(
                    "{CRASH_VAR} read outside an item gated by #[cfg(feature = \"fail-points\")] \
                     (looked {CFG_REACH} lines up): gate the hook, so that a release build cannot \
                     be made to crash by its environment"
                ),
            ));
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// The rules themselves: each catches a small violating snippet and passes a similar allowed one.

mod rules {
    use super::*;

    fn lib(text: &str) -> Source {
        Source::new("crates/x/src/thing.rs", text, true)
    }

    fn lines(found: Vec<Violation>) -> Vec<usize> {
        found.iter().map(|v| v.line).collect()
    }

    #[test]
    fn blanking_keeps_offsets_and_hides_comments_and_literals() {
        let text =
            "let s = \"a // b × {x}\"; // println!(\"no\")\nlet c = ('\"', '×'); let r = r#\"q\"#;";
        let code = blank(text, true);
        let plain = blank(text, false);
        assert_eq!(code.len(), text.len());
        assert_eq!(plain.len(), text.len());
        assert_eq!(code.lines().count(), 2);
        assert!(!code.contains("println") && !code.contains("{x}") && !code.contains('q'));
        assert!(
            !code.contains('×') && code.contains("(' ', '  ')"),
            "{code}"
        );
        assert!(plain.contains("a // b × {x}") && !plain.contains("println"));
        assert!(code.contains("r#\" \"#"), "{code}");
        // A lifetime is code.
        assert_eq!(blank("fn f<'a>(x: &'a str)", true), "fn f<'a>(x: &'a str)");
    }

    #[test]
    fn library_code_is_what_a_library_crate_compiles() {
        let texts: BTreeMap<String, String> = [
            ("crates/a/src/lib.rs", "pub mod x;\nmod shared;\n"),
            ("crates/a/src/x.rs", ""),
            ("crates/a/src/shared.rs", ""),
            (
                "crates/a/src/main.rs",
                "mod progress;\nmod shared;\nmod inline {}\n",
            ),
            ("crates/a/src/progress.rs", ""),
            ("crates/a/src/progress/bar.rs", ""),
            ("crates/a/src/bin/tool.rs", ""),
            ("crates/a/tests/it/main.rs", ""),
            ("crates/b/src/main.rs", ""),
            ("crates/b/src/y.rs", ""),
            ("tests/src/lib.rs", ""),
        ]
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .into();
        let all: BTreeSet<String> = texts.keys().cloned().collect();
        let binary = binary_modules(&texts);
        assert_eq!(
            binary,
            BTreeSet::from(["crates/a/src/progress".to_string()])
        );
        let library: Vec<&String> = all
            .iter()
            .filter(|p| is_library(p, &all, &binary))
            .collect();
        assert_eq!(
            library,
            [
                "crates/a/src/lib.rs",
                "crates/a/src/shared.rs",
                "crates/a/src/x.rs"
            ]
        );
    }

    #[test]
    fn print_rule() {
        let bad = lib(
            "fn f() {\n    println!(\"x\");\n    let o = std::io::stdout();\n    dbg!(1);\n}\n",
        );
        assert_eq!(lines(check_print(&bad)), [2, 3, 4]);
        let good = lib(concat!(
            "/// println!(\"in a comment\")\n",
            "fn f(out: &mut impl Write) { writeln!(out, \"println!\"); } // eprintln!()\n",
            "fn g(c: &mut Command) { c.stdout(Stdio::piped()); let o = output.stdout; }\n",
            "#[cfg(test)]\nmod tests { fn t() { println!(\"fine in tests\"); } }\n",
        ));
        assert!(check_print(&good).is_empty());
        // Binaries print.
        let binary = Source::new("crates/x/src/main.rs", "fn main() { println!(); }", false);
        assert!(check_print(&binary).is_empty());
    }

    #[test]
    fn backend_cfg_rule() {
        let bad = Source::new(
            "crates/train/src/a.rs",
            "#[cfg(feature = \"wgpu\")]\nfn a() {}\n#[cfg(any(feature=\"flex\", not(feature = \"cuda\")))]\nfn b() { if cfg!(feature = \"ndarray\") {} }\n",
            true,
        );
        assert_eq!(lines(check_backend_cfg(&bad)), [1, 3, 3, 4]);
        let good = Source::new(
            "tests/tests/x.rs",
            "#[cfg(feature = \"fail-points\")]\nfn a() {}\n// #[cfg(feature = \"wgpu\")]\nconst S: &str = \"feature = \\\"wgpu\\\"\";\n",
            false,
        );
        assert!(check_backend_cfg(&good).is_empty());
        let home = Source::new(
            BACKEND_FILE,
            "#[cfg(feature = \"wgpu\")]\nfn a() {}\n",
            true,
        );
        assert!(check_backend_cfg(&home).is_empty());
    }

    #[test]
    fn error_enum_rule() {
        let bad = lib(r#"
#[derive(Debug, thiserror::Error)]
pub enum E {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, #[source] source: std::io::Error },
    #[error("bad: {0:?}")]
    Parse(#[from] ParseIntError),
    #[error("{path}: {}", describe(.cause))]
    Other { path: PathBuf, #[source] cause: Box<dyn std::error::Error> },
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("{source}")]
    Implicit { source: std::io::Error },
}
"#);
        assert_eq!(lines(check_error_enums(&bad)), [5, 7, 9, 11, 13]);
        let good = lib(r#"
// #[derive(Error)] in a comment, and a struct: neither is looked at.
#[derive(Debug, Error)]
pub struct ApiError { message: String }

#[derive(Debug, Clone, Error)]
pub enum E {
    #[error("cannot read {path} {{source}}; check {what}")]
    Io { path: PathBuf, what: String, #[source] source: std::io::Error },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("the server stopped")]
    Serve(#[source] std::io::Error),
    #[error("{0} is not a number")]
    Named(String, u32),
    #[error("gone")]
    Gone,
}
#[derive(Debug)]
enum NotAnError { A(String) }
"#);
        assert!(
            check_error_enums(&good).is_empty(),
            "{:?}",
            check_error_enums(&good)
        );
    }

    #[test]
    fn map_err_rule() {
        let bad = lib(r#"
fn f() {
    a().map_err(|e| ModelError::InvalidConfig(e.to_string()))?;
    b().map_err(|e| TrainError::Bad { path, reason: e.to_string() })?;
    c().map_err(|err| DataError::Parse(format!("cannot parse: {err}")))?;
    d().map_err(move |e| data::DataError::Parse(format!("{}: {}", path, e)))?;
}
"#);
        assert_eq!(lines(check_map_err(&bad)), [3, 4, 5, 6]);
        let good = lib(r#"
fn f() {
    a().map_err(|source| ModelError::Io { path: path.clone(), source })?;
    b().map_err(|e| ApiError::internal(e.to_string()))?;
    c().map_err(|e| ApiError::bad_request(format!("not JSON: {e}")))?;
    d().map_err(|_| TrainError::Bad { path, reason: limit.to_string() })?;
    e().map_err(|e| e.to_string())?;
    f().map_err(DataError::Io)?;
}
#[cfg(test)]
mod tests { fn t() { a().map_err(|e| ModelError::InvalidConfig(e.to_string())); } }
"#);
        assert!(
            check_map_err(&good).is_empty(),
            "{:?}",
            check_map_err(&good)
        );
        let test_file = Source::new("crates/x/tests/it/a.rs", bad.text.as_str(), false);
        assert!(check_map_err(&test_file).is_empty());
    }

    #[test]
    fn unsafe_rule() {
        let elsewhere = lib("fn f() {\n    let rc = unsafe { libc::renameat2() };\n}\nunsafe fn g() {}\nunsafe impl Send for X {}\n");
        assert_eq!(lines(check_unsafe(&elsewhere)), [2, 4, 5]);
        let allowed = UNSAFE_ALLOWED[0];
        let unexplained = Source::new(
            allowed,
            "#[allow(unsafe_code)]\nfn f() {\n    let a = 1;\n    // SAFETY: long ago.\n    let b = 2;\n    let c = 3;\n    let d = 4;\n    unsafe { g() };\n}\n",
            true,
        );
        assert_eq!(lines(check_unsafe(&unexplained)), [8]);
        let not_allowed = Source::new(
            allowed,
            "fn f() {\n    // SAFETY: x.\n    unsafe { g() };\n}\n",
            true,
        );
        assert_eq!(lines(check_unsafe(&not_allowed)), [1]);
        let explained = Source::new(
            allowed,
            "#[allow(unsafe_code)]\nfn f() {\n    // SAFETY: the clamp bounds it:\n    // a second line, and a third.\n    let x = unsafe { g() };\n    #[cfg(x)]\n    // SAFETY: checked.\n    if y {\n        unsafe { h() };\n    }\n    let z = 1; // SAFETY: on the line.\n    let w = unsafe { g() }; // SAFETY: here too.\n}\n",
            true,
        );
        assert!(
            check_unsafe(&explained).is_empty(),
            "{:?}",
            check_unsafe(&explained)
        );
        // The word in comments, literals and other identifiers is not the keyword.
        let words = lib("// unsafe { }\nconst S: &str = \"unsafe {\";\n#![forbid(unsafe_code)]\n");
        assert!(check_unsafe(&words).is_empty());
    }

    #[test]
    fn crate_root_rule() {
        let forbid = "//! Docs.\n#![forbid(unsafe_code)]\n";
        let deny = "#![deny(unsafe_code)]\n";
        for path in [
            "crates/x/src/lib.rs",
            "crates/x/src/main.rs",
            "crates/x/src/bin/tool.rs",
            "tests/src/lib.rs",
        ] {
            assert_eq!(
                lines(check_crate_root(&Source::new(path, "//! Docs.\n", false))),
                [1]
            );
            assert_eq!(
                lines(check_crate_root(&Source::new(path, deny, false))),
                [1],
                "{path}"
            );
            assert!(check_crate_root(&Source::new(path, forbid, false)).is_empty());
        }
        // The crate that holds the allowed file denies, so that the file can allow.
        let package = UNSAFE_ALLOWED[0].split("/src/").next().unwrap();
        let root = format!("{package}/src/lib.rs");
        assert_eq!(
            lines(check_crate_root(&Source::new(&root, forbid, true))),
            [1]
        );
        assert!(check_crate_root(&Source::new(&root, deny, true)).is_empty());
        assert!(check_crate_root(&Source::new(
            &format!("{package}/src/main.rs"),
            forbid,
            false
        ))
        .is_empty());
        // Not roots.
        for path in [
            "crates/x/src/other.rs",
            "crates/x/tests/it/main.rs",
            "crates/x/build.rs",
        ] {
            assert!(check_crate_root(&Source::new(path, "", false)).is_empty());
        }
    }

    #[test]
    fn fail_point_rule() {
        let bad = lib(concat!(
            "/// Dies when DIGITS_TEST_CRASH_AT names this point.\n",
            "fn crash_point(name: &str) {\n",
            "    if std::env::var(\"DIGITS_TEST_CRASH_AT\").is_ok_and(|at| at == name) {\n",
            "        std::process::abort();\n",
            "    }\n",
            "}\n",
        ));
        assert_eq!(lines(check_fail_point(&bad)), [3]);
        let good = lib(concat!(
            "#[cfg(feature = \"fail-points\")]\n",
            "/// Dies when DIGITS_TEST_CRASH_AT names this point.\n",
            "fn crash_point(name: &str) {\n",
            "    if std::env::var(\"DIGITS_TEST_CRASH_AT\").is_ok_and(|at| at == name) {\n",
            "        std::process::abort();\n",
            "    }\n",
            "}\n",
        ));
        assert!(check_fail_point(&good).is_empty());
        // Tests set it.
        let test_file = Source::new("crates/x/tests/it/a.rs", bad.text.as_str(), false);
        assert!(check_fail_point(&test_file).is_empty());
    }
}
