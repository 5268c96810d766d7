//! DIMMs as the nfit driver assembles them from the table (nfit_mem_init(),
//! acpi_nfit_register_dimms(), acpi_nfit_add_dimm()).

use core::fmt;

use super::tables::{
    ControlRegion, FlushHint, Interleave, Memdev, Nfit, RawSubtables, Spa, Subtable,
};
use super::{DeviceHandle, Error, SpaType, DCR_MFG_INFO_VALID};

/// Longest DIMM id string (`NFIT_DIMM_ID_LEN`).
const ID_LEN: usize = 22;

/// The order in which __nfit_mem_init() visits memdevs: for each PM or DCR
/// SPA range in table order, the memdevs mapped into it; then every memdev
/// with range index 0 ("unmapped"). A memdev may be visited more than once.
#[derive(Clone)]
struct Visits<'a> {
    body: &'a [u8],
    /// Cursor of the walk over SPA ranges.
    spas: RawSubtables<'a>,
    /// Cursor of the walk over memdevs within the current pass.
    memdevs: RawSubtables<'a>,
    pass: Pass<'a>,
}

#[derive(Clone, Copy)]
enum Pass<'a> {
    Spa(Spa<'a>),
    Unmapped,
    Done,
}

/// One visit: the SPA being walked (None for the unmapped sweep) and the memdev.
#[derive(Clone, Copy)]
struct Visit<'a> {
    spa: Option<Spa<'a>>,
    memdev: Memdev<'a>,
}

impl<'a> Visits<'a> {
    fn new(nfit: Nfit<'a>) -> Self {
        let body = nfit.body();
        let mut v = Visits {
            body,
            spas: RawSubtables::new(body),
            memdevs: RawSubtables::new(body),
            pass: Pass::Unmapped,
        };
        v.pass = v.next_pass(true);
        v
    }

    fn next_pass(&mut self, walking_spas: bool) -> Pass<'a> {
        self.memdevs = RawSubtables::new(self.body);
        if walking_spas {
            let spa = self.spas.find_map(|s| match s {
                Ok(Subtable::Spa(x))
                    if matches!(x.spa_type(), Some(SpaType::Pm) | Some(SpaType::Dcr)) =>
                {
                    Some(x)
                }
                _ => None,
            });
            if let Some(spa) = spa {
                return Pass::Spa(spa);
            }
            return Pass::Unmapped;
        }
        Pass::Done
    }
}

impl<'a> Iterator for Visits<'a> {
    type Item = Visit<'a>;

    fn next(&mut self) -> Option<Visit<'a>> {
        loop {
            let (spa, want) = match self.pass {
                Pass::Spa(s) => (Some(s), s.range_index()),
                Pass::Unmapped => (None, 0),
                Pass::Done => return None,
            };
            match self.memdevs.next() {
                Some(Ok(Subtable::Memdev(m))) if m.range_index() == want => {
                    return Some(Visit { spa, memdev: m });
                }
                Some(_) => {}
                None => self.pass = self.next_pass(spa.is_some()),
            }
        }
    }
}

/// A DIMM as the driver sees it (`struct nfit_mem`).
#[derive(Clone, Copy, Debug)]
pub struct Dimm<'a> {
    /// Its device handle.
    pub handle: DeviceHandle,
    /// The memdev C treats as the DIMM's own (`__to_nfit_memdev()`): the DCR
    /// one if any, else the PM one. Its sysfs `handle` and `phys_id` come
    /// from here.
    pub memdev: Memdev<'a>,
    /// The memdev of its last visit through a DCR range, or the unmapped sweep.
    pub memdev_dcr: Option<Memdev<'a>>,
    /// The memdev of its last visit through a PM range.
    pub memdev_pmem: Option<Memdev<'a>>,
    /// Its control region: the first found, upgraded once to one with block
    /// windows. None only if no memdev names a control region; C would then
    /// dereference NULL in acpi_nfit_add_dimm().
    pub dcr: Option<ControlRegion<'a>>,
    /// The DCR range of its last DCR visit.
    pub spa_dcr: Option<Spa<'a>>,
    /// The interleave description of its DCR memdev.
    pub idt_dcr: Option<Interleave<'a>>,
    /// Its flush hints (the first table naming its handle).
    pub flush: Option<FlushHint<'a>>,
    /// `MEM_*` flags of all its memdevs OR-ed together, as sysfs `flags`
    /// shows them (acpi_nfit_register_dimms() collates them).
    pub flags: u16,
}

impl<'a> Dimm<'a> {
    /// SMBIOS physical id (sysfs `phys_id`).
    pub fn physical_id(&self) -> u16 {
        self.memdev.physical_id()
    }

    /// The DIMM's id string, None without a control region.
    pub fn id(&self) -> Option<DimmId> {
        self.dcr.as_ref().map(DimmId::new)
    }

    /// Number of flush hint addresses.
    pub fn hint_count(&self) -> u16 {
        self.flush.map_or(0, |f| f.hint_count())
    }
}

/// The parts of a [`Dimm`] nfit_mem_init() accumulates visit by visit.
#[derive(Default)]
struct Acc<'a> {
    memdev_dcr: Option<Memdev<'a>>,
    memdev_pmem: Option<Memdev<'a>>,
    dcr: Option<ControlRegion<'a>>,
    spa_dcr: Option<Spa<'a>>,
    idt_dcr: Option<Interleave<'a>>,
    flush: Option<FlushHint<'a>>,
}

/// Adds one visit to a DIMM under construction, as __nfit_mem_init() does.
fn visit<'a>(nfit: &Nfit<'a>, d: &mut Acc<'a>, v: Visit<'a>) {
    let m = v.memdev;
    // Only the first control region with this index is considered.
    if let Some(dcr) = nfit.control_region(m.region_index()) {
        match d.dcr {
            None => d.dcr = Some(dcr),
            Some(cur) if cur.windows() == 0 && dcr.windows() != 0 => d.dcr = Some(dcr),
            Some(_) => {}
        }
    }
    if let Some(f) = nfit
        .flush_hints()
        .find(|f| f.device_handle() == m.device_handle())
    {
        d.flush = Some(f);
    }
    match v.spa.map(|s| (s, s.spa_type())) {
        Some((spa, Some(SpaType::Dcr))) => {
            d.spa_dcr = Some(spa);
            d.memdev_dcr = Some(m);
            // C keeps the previous idt when none matches.
            if let Some(idt) = nfit
                .interleaves()
                .find(|i| i.interleave_index() == m.interleave_index())
            {
                d.idt_dcr = Some(idt);
            }
        }
        Some((_, _)) => d.memdev_pmem = Some(m),
        None => d.memdev_dcr = Some(m),
    }
}

impl<'a> Nfit<'a> {
    /// nfit_mem_init()'s failure: a memdev naming a control region at a
    /// point where its DIMM has none yet.
    pub(super) fn check_dimms(&self) -> Result<(), Error> {
        for (pos, v) in Visits::new(*self).enumerate() {
            let m = v.memdev;
            if m.region_index() == 0 || self.control_region(m.region_index()).is_some() {
                continue;
            }
            // Fine if an earlier visit of the same DIMM already found one.
            let handle = m.device_handle();
            let found = Visits::new(*self)
                .take(pos)
                .filter(|e| e.memdev.device_handle() == handle)
                .any(|e| self.control_region(e.memdev.region_index()).is_some());
            if !found {
                return Err(Error::MissingDcr {
                    range_index: v.spa.map_or(0, |s| s.range_index()),
                    region_index: m.region_index(),
                });
            }
        }
        Ok(())
    }

    /// The DIMM with this handle, if the driver would create one: some memdev
    /// of it maps into a PM or DCR range, or is unmapped (range index 0).
    pub fn dimm(&self, handle: DeviceHandle) -> Option<Dimm<'a>> {
        let mut acc = Acc::default();
        for v in Visits::new(*self).filter(|v| v.memdev.device_handle() == handle) {
            visit(self, &mut acc, v);
        }
        // Every visit sets one of the two; no visit means no DIMM.
        let memdev = acc.memdev_dcr.or(acc.memdev_pmem)?;
        Some(Dimm {
            handle,
            memdev,
            memdev_dcr: acc.memdev_dcr,
            memdev_pmem: acc.memdev_pmem,
            dcr: acc.dcr,
            spa_dcr: acc.spa_dcr,
            idt_dcr: acc.idt_dcr,
            flush: acc.flush,
            flags: self.memdevs_of(handle).fold(0, |f, m| f | m.flags()),
        })
    }

    /// The driver's DIMMs in ascending handle order (nfit_mem_init() sorts them).
    pub fn dimms(&self) -> Dimms<'a> {
        Dimms {
            nfit: *self,
            last: None,
        }
    }
}

/// Iterator over [`Nfit::dimms`].
#[derive(Clone, Debug)]
pub struct Dimms<'a> {
    nfit: Nfit<'a>,
    last: Option<DeviceHandle>,
}

impl<'a> Iterator for Dimms<'a> {
    type Item = Dimm<'a>;

    fn next(&mut self) -> Option<Dimm<'a>> {
        let last = self.last;
        let next = Visits::new(self.nfit)
            .map(|v| v.memdev.device_handle())
            .filter(|h| Some(*h) > last)
            .min()?;
        self.last = Some(next);
        self.nfit.dimm(next)
    }
}

/// A DIMM's unique id, as sysfs `nfit/id` and libnvdimm show it:
/// `vvvv-ll-dddd-ssssssss` (vendor, manufacturing location and date,
/// serial) when the manufacturing fields are valid, else `vvvv-ssssssss`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DimmId {
    buf: [u8; ID_LEN],
    len: u8,
}

impl DimmId {
    /// Formats the id of the DIMM `dcr` describes (acpi_nfit_add_dimm()).
    pub fn new(dcr: &ControlRegion<'_>) -> Self {
        let mut id = DimmId {
            buf: [0; ID_LEN],
            len: 0,
        };
        id.hex(u64::from(dcr.vendor_id_be()), 4);
        if dcr.valid_fields() & DCR_MFG_INFO_VALID != 0 {
            id.push(b'-');
            id.hex(u64::from(dcr.manufacturing_location()), 2);
            id.push(b'-');
            id.hex(u64::from(dcr.manufacturing_date_be()), 4);
        }
        id.push(b'-');
        id.hex(u64::from(dcr.serial_number_be()), 8);
        id
    }

    fn push(&mut self, c: u8) {
        if let Some(slot) = self.buf.get_mut(usize::from(self.len)) {
            *slot = c;
            self.len += 1;
        }
    }

    fn hex(&mut self, v: u64, digits: u32) {
        for i in (0..digits).rev() {
            self.push(b"0123456789abcdef"[((v >> (4 * i)) & 0xf) as usize]);
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Display for DimmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for DimmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<&str> for DimmId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
