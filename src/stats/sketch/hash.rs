//! The 64-bit hash that distinct-count sketches keep: "oxbridge hash 1".
//!
//! Serialised sketches carry hashes from machine to machine, so this function is part of
//! the serial format: it must give the same bits on every platform and in every version.
//! Changing it means a new serial version. It is written here (no crate) so that nothing
//! upstream can change it under us:
//!
//! - integers: as the equal double when there is one (|v| <= 2^53), so a column that is
//!   integers in one part of a file and decimals in another counts `1` and `1.0` once;
//!   past 2^53, `mix(v)` of the integer itself, so large integers never collide with
//!   each other through rounding (`mix` is the splitmix64 finaliser of
//!   `v + 0x9e3779b97f4a7c15`, a bijection);
//! - doubles: `mix` of the IEEE-754 bits, after `-0.0` becomes `0.0` and every NaN the one
//!   quiet NaN `0x7ff8000000000000` (so values equal as numbers hash equal);
//! - bytes: a wyhash-style loop, 16 bytes at a time, each step
//!   `h = mum(a ^ P1, b ^ h ^ P2)` where `a`, `b` are the chunk's two little-endian words
//!   (the last chunk zero-padded) and `mum` folds the 128-bit product's halves by xor; the
//!   state starts at `P0 ^ len * P1` and ends as `mix(h ^ len)`.

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;
const P2: u64 = 0x8ebc_6af0_9c88_c6e3;

/// splitmix64: a bijective mix of all 64 bits.
#[inline]
pub(crate) fn mix(v: u64) -> u64 {
    let mut z = v.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[inline]
fn mum(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

/// The hash of an integer value: that of the equal double up to 2^53, else its own.
#[inline]
pub fn hash_i64(v: i64) -> u64 {
    const EXACT: i64 = 1 << 53;
    if (-EXACT..=EXACT).contains(&v) {
        hash_f64(v as f64)
    } else {
        mix(v as u64)
    }
}

/// The hash of a double: `-0.0` hashes as `0.0`, every NaN as one NaN.
#[inline]
pub fn hash_f64(v: f64) -> u64 {
    let bits = if v == 0.0 {
        0
    } else if v.is_nan() {
        0x7ff8_0000_0000_0000
    } else {
        v.to_bits()
    };
    mix(bits)
}

/// The hash of a byte string (text hashes as its UTF-8 bytes).
pub fn hash_bytes(bytes: &[u8]) -> u64 {
    let len = bytes.len() as u64;
    let mut h = P0 ^ len.wrapping_mul(P1);
    let mut chunks = bytes.chunks_exact(16);
    for c in &mut chunks {
        let (a, b) = words(c);
        h = mum(a ^ P1, b ^ h ^ P2);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut padded = [0u8; 16];
        padded[..tail.len()].copy_from_slice(tail);
        let (a, b) = words(&padded);
        h = mum(a ^ P1, b ^ h ^ P2);
    }
    mix(h ^ len)
}

#[inline]
fn words(c: &[u8]) -> (u64, u64) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&c[..8]);
    b.copy_from_slice(&c[8..16]);
    (u64::from_le_bytes(a), u64::from_le_bytes(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_equal_as_numbers_hash_equal() {
        assert_eq!(hash_f64(0.0), hash_f64(-0.0));
        assert_eq!(hash_f64(f64::NAN), hash_f64(-f64::NAN));
        assert_eq!(
            hash_f64(f64::NAN),
            hash_f64(f64::from_bits(0x7ff0_0000_0000_0001))
        );
        assert_ne!(hash_f64(1.0), hash_f64(-1.0));
        assert_ne!(hash_bytes(b""), hash_bytes(b"\0"));
        assert_ne!(hash_bytes(b"a"), hash_bytes(b"a\0"));
    }

    #[test]
    fn the_hash_is_pinned() {
        // Serialised sketches hold these hashes: a change here is a new serial version.
        assert_eq!(hash_i64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(hash_i64(3), hash_f64(3.0));
        assert_eq!(hash_i64(-(1 << 53)), hash_f64(-9007199254740992.0));
        assert_eq!(hash_i64((1 << 53) + 1), mix((1u64 << 53) + 1));
        assert_ne!(hash_i64(1 << 60), hash_i64((1 << 60) + 1));
        assert_eq!(hash_f64(1.5), mix(1.5f64.to_bits()));
        let pinned = [hash_bytes(b""), hash_bytes(b"abc"), hash_bytes(&[7u8; 40])];
        assert_eq!(pinned, PINNED_BYTES);
    }

    const PINNED_BYTES: [u64; 3] = [
        0x4396_d60d_bd85_37af,
        0xdb93_c9e8_e968_632f,
        0x7d98_aac3_a03a_8d95,
    ];
}
