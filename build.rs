//! Embeds a hash of the checked-in header, so bindings can tell at load time whether the
//! library matches the declarations they were generated from. The same normalisation is
//! `header_hash` in tools/cheader.py, which writes the hash into py/oxbridge/_bindings.py;
//! tests/python/test_header.py checks that the library, the header and the bindings agree.

fn strip_comments(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"/*") {
            i = match text[i + 2..].find("*/") {
                Some(end) => i + 2 + end + 2,
                None => bytes.len(),
            };
            out.push(b' ');
        } else if bytes[i..].starts_with(b"//") {
            i = text[i..].find('\n').map_or(bytes.len(), |end| i + end);
            out.push(b' ');
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("comments end on ASCII boundaries")
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn main() {
    println!("cargo:rerun-if-changed=include/oxbridge.h");
    let header = std::fs::read_to_string("include/oxbridge.h").unwrap_or_default();
    let normalised = strip_comments(&header)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    println!(
        "cargo:rustc-env=OXB_HEADER_HASH={:016x}",
        fnv1a(normalised.as_bytes())
    );
    set_soname();
}

/// The shared library's soname carries the ABI version (`liboxbridge.so.2`), so programs
/// linked against one ABI never load a library of another.
fn set_soname() {
    println!("cargo:rerun-if-changed=src/ffi/version.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let source = std::fs::read_to_string("src/ffi/version.rs").expect("src/ffi/version.rs");
    let abi = source
        .lines()
        .find_map(|l| l.trim().strip_prefix("pub const OXB_ABI_VERSION: u32 = "))
        .and_then(|rest| rest.trim_end_matches(';').trim().parse::<u32>().ok())
        .expect("src/ffi/version.rs defines OXB_ABI_VERSION");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,liboxbridge.so.{abi}");
}
