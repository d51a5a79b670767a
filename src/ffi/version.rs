//! Versions and the ABI check.

use super::guard;
use std::ffi::c_char;

/// Version of the header; `OXB_VERSION` is the same as a string.
pub const OXB_VERSION_MAJOR: u32 = 0;
pub const OXB_VERSION_MINOR: u32 = 1;
pub const OXB_VERSION_PATCH: u32 = 0;
/// Changes whenever an existing declaration changes incompatibly.
pub const OXB_ABI_VERSION: u32 = 2;

/// The library's version, e.g. "0.1.0" (a static string).
#[no_mangle]
pub extern "C" fn oxb_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    guard::value(VERSION.as_ptr().cast(), || VERSION.as_ptr().cast())
}

/// The ABI version of the loaded library; compare with `OXB_ABI_VERSION`.
#[no_mangle]
pub extern "C" fn oxb_abi_version() -> u32 {
    guard::value(OXB_ABI_VERSION, || OXB_ABI_VERSION)
}

/// A hash of every declaration in the header the library was built with (comments
/// ignored). Bindings compare it with the hash of the header they were generated from, so
/// a stale library is refused at load time instead of misbehaving later.
#[no_mangle]
pub extern "C" fn oxb_header_hash() -> u64 {
    const HASH: u64 = parse_hex(env!("OXB_HEADER_HASH"));
    guard::value(HASH, || HASH)
}

const fn parse_hex(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut value = 0u64;
    let mut i = 0;
    while i < bytes.len() {
        let digit = match bytes[i] {
            b @ b'0'..=b'9' => b - b'0',
            b @ b'a'..=b'f' => b - b'a' + 10,
            _ => panic!("OXB_HEADER_HASH must be lowercase hex"),
        };
        value = value << 4 | digit as u64;
        i += 1;
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_match_the_crate() {
        assert_eq!(
            OXB_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            OXB_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            OXB_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
    }
}
