//! Fletcher-64 as libnvdimm computes it (`nd_fletcher64`).
//!
//! Label index blocks, v1.2 namespace labels, and BTT/pfn info blocks all
//! carry this checksum. The sum runs over little-endian 32-bit words. Two
//! quirks of the C code are part of the on-media format and are kept here:
//!
//! - trailing bytes that do not fill a whole word are not summed, and
//! - both halves wrap at 32 bits: C keeps the running high sum in a `u64`,
//!   but `hi32 << 32` drops its upper half.
//!
//! C only ever calls `nd_fletcher64` with `le = true`, so the native-endian
//! variant is not carried over.

/// Size in bytes of a stored checksum field.
pub const CHECKSUM_LEN: usize = 8;

/// Fletcher-64 of `data`, as `nd_fletcher64(data, data.len(), 1)`.
pub fn fletcher64(data: &[u8]) -> u64 {
    sum_words(data, usize::MAX)
}

/// Fletcher-64 of `data` as if the 8-byte checksum field at `offset` held
/// zero.
///
/// Every checksummed structure stores its own checksum inside the summed
/// range; C saves the field, zeroes it, sums and restores it. Computing
/// around the field lets callers check a read-only buffer. Any part of the
/// field that lies beyond `data` is simply absent.
pub fn fletcher64_zeroed(data: &[u8], offset: usize) -> u64 {
    sum_words(data, offset)
}

/// Fletcher-64 of `head` followed by zero bytes up to `len` bytes in all,
/// without the zeros in memory: each zero word adds the running low sum to
/// the high one. For blocks whose fields sit at the start of a mostly zero
/// block (the 4 KiB pfn info block), so that no caller needs the whole
/// block on its stack. A `head` longer than `len` is summed as is.
pub fn fletcher64_zero_tail(head: &[u8], len: usize) -> u64 {
    let sum = sum_words(head, usize::MAX);
    let (lo, mut hi) = (sum as u32, (sum >> 32) as u32);
    let words = len.saturating_sub(head.len() / 4 * 4) / 4;
    hi = hi.wrapping_add(lo.wrapping_mul(words as u32));
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Whether the little-endian checksum stored at `offset` matches the
/// contents of `data`. A field that does not fit in `data` never matches.
pub fn verify(data: &[u8], offset: usize) -> bool {
    match stored(data, offset) {
        Some(sum) => sum == fletcher64_zeroed(data, offset),
        None => false,
    }
}

/// Compute the checksum of `data` (field at `offset` taken as zero), store
/// it there little-endian, and return it. `None` if the field does not fit.
pub fn seal(data: &mut [u8], offset: usize) -> Option<u64> {
    let sum = fletcher64_zeroed(data, offset);
    let field = data.get_mut(offset..offset.checked_add(CHECKSUM_LEN)?)?;
    field.copy_from_slice(&sum.to_le_bytes());
    Some(sum)
}

/// The little-endian checksum stored at `offset`, if the field fits.
pub fn stored(data: &[u8], offset: usize) -> Option<u64> {
    let field = data.get(offset..offset.checked_add(CHECKSUM_LEN)?)?;
    field.try_into().ok().map(u64::from_le_bytes)
}

/// Fletcher-64 over pieces, as if they were one buffer: for data C sums
/// as an array of records (interleave-set cookies). Each piece must be a
/// whole number of words (trailing bytes are not summed, as in C, but per
/// piece).
#[derive(Clone, Copy, Debug, Default)]
pub struct Fletcher64 {
    lo: u32,
    hi: u32,
}

impl Fletcher64 {
    /// Nothing summed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the words of `piece`.
    pub fn update(&mut self, piece: &[u8]) {
        for w in piece.chunks_exact(4) {
            self.lo = self.lo.wrapping_add(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            self.hi = self.hi.wrapping_add(self.lo);
        }
    }

    /// The checksum of everything added.
    pub fn value(&self) -> u64 {
        (u64::from(self.hi) << 32) | u64::from(self.lo)
    }
}

/// The one summing loop; bytes in `[zero_at, zero_at + 8)` read as zero.
fn sum_words(data: &[u8], zero_at: usize) -> u64 {
    let zero_end = zero_at.saturating_add(CHECKSUM_LEN);
    let mut lo: u32 = 0;
    let mut hi: u32 = 0;
    for (i, chunk) in data.chunks_exact(4).enumerate() {
        let start = i * 4;
        let mut word = [chunk[0], chunk[1], chunk[2], chunk[3]];
        // Only the (at most three) words touching the field need masking.
        if start < zero_end && start + 4 > zero_at {
            for (j, byte) in word.iter_mut().enumerate() {
                if (zero_at..zero_end).contains(&(start + j)) {
                    *byte = 0;
                }
            }
        }
        lo = lo.wrapping_add(u32::from_le_bytes(word));
        hi = hi.wrapping_add(lo);
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

#[cfg(test)]
mod tests {
    #[test]
    fn pieces_equal_the_whole_buffer() {
        let data: [u8; 96] = core::array::from_fn(|i| (i as u8).wrapping_mul(91).wrapping_add(3));
        let mut f = super::Fletcher64::new();
        for piece in data.chunks(16) {
            f.update(piece);
        }
        assert_eq!(f.value(), super::fletcher64(&data));
    }

    #[test]
    fn zero_tail_equals_the_whole_block() {
        let mut block = [0u8; 4096];
        for (i, b) in block[..96].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        assert_eq!(super::fletcher64_zero_tail(&block[..96], 4096), super::fletcher64(&block));
        assert_eq!(super::fletcher64_zero_tail(&block[..96], 96), super::fletcher64(&block[..96]));
        assert_eq!(super::fletcher64_zero_tail(&[], 4096), 0);
    }

    use super::*;

    // Vectors worked by hand from the C loop: lo += word; hi += lo.

    #[test]
    fn empty_and_short_inputs_sum_to_zero() {
        assert_eq!(fletcher64(&[]), 0);
        // Fewer than four bytes: `len / sizeof(u32)` is zero, nothing summed.
        assert_eq!(fletcher64(&[0xff, 0xff, 0xff]), 0);
    }

    #[test]
    fn two_words() {
        // lo: 1, 3; hi: 1, 4.
        assert_eq!(fletcher64(&[1, 0, 0, 0, 2, 0, 0, 0]), 0x0000_0004_0000_0003);
    }

    #[test]
    fn words_are_little_endian() {
        // One word 0x04030201: lo = hi = 0x04030201.
        assert_eq!(fletcher64(&[1, 2, 3, 4]), 0x0403_0201_0403_0201);
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        assert_eq!(fletcher64(&[1, 0, 0, 0, 9]), fletcher64(&[1, 0, 0, 0]));
        assert_eq!(fletcher64(&[1, 0, 0, 0, 9, 9, 9]), 0x0000_0001_0000_0001);
    }

    #[test]
    fn both_halves_wrap_at_32_bits() {
        // lo: 0xffffffff, then 0x00000001 (wrapped).
        // hi: 0xffffffff, then 0x1_00000000, whose upper half C shifts out.
        let data = [0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0];
        assert_eq!(fletcher64(&data), 0x0000_0000_0000_0001);
    }

    #[test]
    fn position_matters() {
        // Same words, different order: lo equal, hi differs (3+... vs 1+...).
        let a = fletcher64(&[1, 0, 0, 0, 2, 0, 0, 0]);
        let b = fletcher64(&[2, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(a as u32, b as u32);
        assert_ne!(a, b);
        assert_eq!(b, 0x0000_0005_0000_0003);
    }

    // Vectors from the C function compiled in userspace.
    #[test]
    fn c_vectors() {
        let mut ramp = [0u8; 256];
        for (i, b) in ramp.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(7).wrapping_add(3);
        }
        assert_eq!(fletcher64(&ramp), 0x4d75_bde0_9fe0_2040);
        assert_eq!(fletcher64(&ramp[..255]), 0xad95_9da0_a2ea_3159);
        // 1024 words of 0xffffffff: lo = -1024, hi = -(1024 * 1025 / 2).
        assert_eq!(fletcher64(&[0xff; 4096]), 0xfff7_fe00_ffff_fc00);
    }

    #[test]
    fn zeroed_field_matches_a_zeroed_copy() {
        let mut data = [0u8; 64];
        for (i, b) in data.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        for offset in 0..=56 {
            let mut copy = data;
            copy[offset..offset + 8].fill(0);
            assert_eq!(
                fletcher64_zeroed(&data, offset),
                fletcher64(&copy),
                "offset {offset}"
            );
        }
        // A field hanging off the end zeroes only what exists.
        let mut copy = data;
        copy[60..].fill(0);
        assert_eq!(fletcher64_zeroed(&data, 60), fletcher64(&copy));
        assert_eq!(fletcher64_zeroed(&data, 1000), fletcher64(&data));
    }

    #[test]
    fn sealed_buffer_verifies_and_a_flipped_bit_does_not() {
        let mut data = [0u8; 256];
        for (i, b) in data.iter_mut().enumerate() {
            *b = (i as u8) ^ 0x5a;
        }
        let sum = seal(&mut data, 248).unwrap();
        assert_eq!(stored(&data, 248), Some(sum));
        assert!(verify(&data, 248));
        for bit in 0..data.len() * 8 {
            let mut bad = data;
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(!verify(&bad, 248), "bit {bit}");
        }
    }

    #[test]
    fn field_out_of_range() {
        let mut data = [0u8; 12];
        assert_eq!(seal(&mut data, 8), None);
        assert_eq!(seal(&mut data, usize::MAX), None);
        assert!(!verify(&data, 8));
        assert_eq!(seal(&mut data, 4), Some(0));
        assert!(verify(&data, 4));
    }
}
