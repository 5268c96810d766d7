//! Helpers shared by the label integration tests.
#![allow(dead_code)]

use nd_formats::fletcher;
use nd_formats::label::layout::index_field;
use nd_formats::label::{LabelAreaMut, LabelSize, NamespaceLabel, NVDIMM_PFN_GUID};
use std::ops::Range;

/// The usual config area size of an NVDIMM.
pub const AREA: usize = 128 * 1024;

/// xorshift64*: small, deterministic, good enough to drive property tests.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next_u64() as u8;
        }
    }

    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        let mut a = [0u8; N];
        self.fill(&mut a);
        a
    }
}

/// A freshly initialised area, as the kernel's init_labels leaves it.
pub fn init_area(size: LabelSize) -> Vec<u8> {
    let mut area = vec![0xa5u8; AREA];
    LabelAreaMut::init(&mut area, size).unwrap();
    area
}

/// Recompute an index block's checksum after editing it.
pub fn reseal_index(block: &mut [u8]) {
    fletcher::seal(block, index_field::CHECKSUM).unwrap();
}

/// Copy a range the update protocol asked to persist onto the "media".
pub fn persist(media: &mut [u8], work: &[u8], range: Range<usize>) {
    media[range.clone()].copy_from_slice(&work[range]);
}

/// The label the C oracle writes: uuid 0x10.., "namespace0.0", UPDATING,
/// one DIMM, cookie 0x1122334455667788, 1 GiB at DPA 16 MiB, pfn claim.
pub fn oracle_label(size: LabelSize) -> NamespaceLabel {
    let mut l = NamespaceLabel::new(size);
    l.uuid = core::array::from_fn(|i| 0x10 + i as u8);
    l.set_name(b"namespace0.0");
    l.flags = nd_formats::label::NSLABEL_FLAG_UPDATING;
    l.nlabel = 1;
    l.isetcookie = 0x1122_3344_5566_7788;
    l.dpa = 0x100_0000;
    l.rawsize = 0x4000_0000;
    if size == LabelSize::Bytes256 {
        l.type_guid = core::array::from_fn(|i| 0x80 + i as u8);
        l.abstraction_guid = NVDIMM_PFN_GUID;
    }
    l
}

/// A label with every field random; GUIDs only where the layout has them.
pub fn random_label(rng: &mut Rng, size: LabelSize) -> NamespaceLabel {
    let mut l = NamespaceLabel::new(size);
    l.uuid = rng.array();
    l.name = rng.array();
    l.flags = rng.next_u64() as u32;
    l.nlabel = rng.next_u64() as u16;
    l.position = rng.next_u64() as u16;
    l.isetcookie = rng.next_u64();
    l.lbasize = rng.next_u64();
    l.dpa = rng.next_u64();
    l.rawsize = rng.next_u64();
    l.slot = rng.next_u64() as u32;
    l.align = rng.next_u64() as u8;
    if size == LabelSize::Bytes256 {
        l.type_guid = rng.array();
        l.abstraction_guid = rng.array();
    }
    l
}
