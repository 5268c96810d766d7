//! Little-endian field access at explicit offsets.
//!
//! Callers check buffer lengths before parsing; these helpers still never
//! panic, so a missed check reads zero or drops a write instead of taking
//! down the kernel.

pub fn bytes<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = off.checked_add(N).and_then(|end| b.get(off..end)) {
        out.copy_from_slice(src);
    }
    out
}

pub fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes(bytes(b, off))
}

pub fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(bytes(b, off))
}

pub fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(bytes(b, off))
}

pub fn put(b: &mut [u8], off: usize, src: &[u8]) {
    if let Some(dst) = off
        .checked_add(src.len())
        .and_then(|end| b.get_mut(off..end))
    {
        dst.copy_from_slice(src);
    }
}

pub fn put_u16(b: &mut [u8], off: usize, v: u16) {
    put(b, off, &v.to_le_bytes());
}

pub fn put_u32(b: &mut [u8], off: usize, v: u32) {
    put(b, off, &v.to_le_bytes());
}

pub fn put_u64(b: &mut [u8], off: usize, v: u64) {
    put(b, off, &v.to_le_bytes());
}
