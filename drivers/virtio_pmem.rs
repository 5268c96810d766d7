// SPDX-License-Identifier: GPL-2.0
//! virtio_pmem: persistent memory of a virtio-pmem device (QEMU's
//! `-device virtio-pmem-pci`), made durable by a flush request to the host.
//!
//! The device's config space gives a guest physical range (a host file
//! mapped by the hypervisor). The driver registers an nd bus
//! ("virtio-pmem") with one region over it, without DIMMs: the region is
//! ND_REGION_PAGEMAP (its namespace is mapped with struct pages, so it has
//! fsdax) and ND_REGION_ASYNC: a write is durable only once the host has
//! written the file back, which the region's flush asks for over the
//! device's one virtqueue ("flush_queue"). libnvdimm then sends REQ_PREFLUSH
//! (fsync) and every other region flush here, and DAX does not promise
//! MAP_SYNC on the region.
//!
//! A flush request (C: drivers/nvdimm/nd_virtio.c) is one 4-byte command
//! the host reads and a 4-byte status it writes. Flushes are serialized (C's
//! `flush_lock`); a request that finds the ring full waits, in arrival
//! order, until a completion frees a slot (C's `req_list` and
//! `wq_buf_avail`); the submitter then sleeps until the virtqueue's
//! interrupt hands its request back (`host_acked`). A non-zero status from
//! the host (QEMU: its fsync of the backing file failed) is EIO.
//!
//! REQ_PREFLUSH (and every flush without a bio) is flushed in the caller's
//! thread. The flush after a REQ_FUA bio's data is not: as C's
//! `async_pmem_flush`, the bio goes to the device's ordered workqueue
//! ("virtio-pmem-flush"), whose work flushes and ends the bio, and the
//! submitter returns at once (NVDIMM_FLUSH_ASYNC). If the work item cannot
//! be allocated the bio ends with ENOMEM. The queue is drained at remove,
//! once the bus (and so the disk) is gone.

// Module code is safe Rust: `unsafe` lives only in glue/ and abi/, the two
// modules allowed below (Documentation/layout.md).
#![deny(unsafe_code)]

use kernel::prelude::*;
use kernel::sync::{Arc, Mutex, UniqueArc};
use kernel::new_mutex;

#[path = "../glue/mod.rs"]
#[allow(unsafe_code)]
mod glue;

#[path = "../abi/mod.rs"]
#[allow(unsafe_code)]
mod abi;

#[path = "../formats/src/lib.rs"]
#[allow(unused_attributes, unused_imports, dead_code, unreachable_pub)]
mod formats;

use abi::provider::{Bus, BusDesc, BusProvider, Completion as CmdCompletion, FuaFlush, NewRegion};
use glue::block::PendingBio;
use glue::numa;
use glue::workqueue::{Job, OrderedQueue};
use glue::virtio::{self, BufRef, Completion, DmaBuf, Validating, VirtioDevice, Virtqueue, VqGuard, VqHandler, VqRequest};

module! {
    type: VirtioPmemModule,
    name: "virtio_pmem",
    author: "rust-libnvdimm developers",
    description: "Virtio pmem driver, in Rust",
    license: "GPL",
    alias: ["virtio:d0000001Bv*"],
}

/// VIRTIO_ID_PMEM.
const VIRTIO_ID_PMEM: u32 = 27;
/// VIRTIO_PMEM_F_SHMEM_REGION: the range is shared memory region 0
/// instead of the config space's `start` and `size`.
const VIRTIO_PMEM_F_SHMEM_REGION: u32 = 0;
/// VIRTIO_PMEM_SHMEM_REGION_ID.
const VIRTIO_PMEM_SHMEM_REGION_ID: u8 = 0;
/// `struct virtio_pmem_config`: `__le64 start`, `__le64 size`.
const CONFIG_START: u32 = 0;
const CONFIG_SIZE: u32 = 8;
/// VIRTIO_PMEM_REQ_TYPE_FLUSH.
const VIRTIO_PMEM_REQ_TYPE_FLUSH: u32 = 0;
/// ND_REGION_PAGEMAP and ND_REGION_ASYNC.
const ND_REGION_PAGEMAP: u64 = 1 << 0;
const ND_REGION_ASYNC: u64 = 1 << 3;
/// NUMA_NO_NODE.
const NUMA_NO_NODE: i32 = -1;

struct VirtioPmemModule {
    _driver: virtio::Registration<VirtioPmem>,
}

impl kernel::Module for VirtioPmemModule {
    fn init(module: &'static ThisModule) -> Result<Self> {
        Ok(Self { _driver: virtio::Registration::register(c"virtio_pmem", module)? })
    }
}

/// One flush request: the command the host reads, the status it writes.
#[pin_data]
struct FlushRequest {
    req: DmaBuf<4>,
    resp: DmaBuf<4>,
    /// The host answered (C: `host_acked`, `done`).
    #[pin]
    done: Completion,
    /// A slot freed up while the request waited for one (C: `wq_buf`,
    /// `wq_buf_avail`).
    #[pin]
    slot: Completion,
}

impl VqRequest for FlushRequest {
    fn buffers(&self) -> (BufRef<'_>, BufRef<'_>) {
        (self.req.buf(), self.resp.buf())
    }
}

/// Requests waiting for a free slot, oldest first (C: `req_list`).
struct Waiters {
    queue: KVec<Option<Arc<FlushRequest>>>,
    /// The oldest entry still waiting; those before it were woken.
    head: usize,
}

impl Waiters {
    fn push(&mut self, req: Arc<FlushRequest>) -> Result {
        Ok(self.queue.push(Some(req), GFP_ATOMIC)?)
    }

    /// Wakes the oldest waiter (C: `virtio_pmem_wake_one_waiter`).
    fn wake_one(&mut self) {
        let Some(slot) = self.queue.get_mut(self.head) else { return };
        if let Some(w) = slot.take() {
            w.slot.complete();
        }
        self.head += 1;
        if self.head == self.queue.len() {
            // All woken: start over (frees the array).
            self.queue = KVec::new();
            self.head = 0;
        }
    }
}

/// The flush queue's interrupt (C: `virtio_pmem_host_ack`).
struct HostAck;

impl VqHandler for HostAck {
    type Request = FlushRequest;
    type Locked = Waiters;

    fn used(&self, q: &mut VqGuard<'_, Self>) {
        while let Some((req, _len)) = q.get_buf() {
            // Each used buffer frees a slot.
            q.locked().wake_one();
            req.done.complete();
        }
    }
}

/// The device's flush path.
#[pin_data]
struct Flusher {
    /// Serializes flush requests (C: `flush_lock`), and holds the request
    /// of the last flush once nobody else refers to it: the next flush
    /// reuses it instead of allocating one.
    #[pin]
    serial: Mutex<Option<Pin<UniqueArc<FlushRequest>>>>,
    vq: Virtqueue<HostAck>,
}

impl Flusher {
    /// `virtio_pmem_flush`: asks the host to make the range durable and
    /// waits for its answer; EIO if it could not be asked or it failed.
    fn flush(&self) -> Result {
        let mut spare = self.serial.lock();
        let vdev = self.vq.device();
        // Don't bother to submit the request to a device that needs a reset.
        if vdev.needs_reset() {
            dev_info!(vdev.device(), "virtio pmem device needs a reset\n");
            return Err(EIO);
        }
        let req: Arc<FlushRequest> = match spare.take() {
            // Ours alone: the queue and the waiters let go of it.
            Some(r) => {
                r.done.reinit();
                r.slot.reinit();
                r.resp.write([0; 4]);
                r.into()
            }
            None => Arc::pin_init(
                pin_init!(FlushRequest {
                    req: DmaBuf::new(VIRTIO_PMEM_REQ_TYPE_FLUSH.to_le_bytes()),
                    resp: DmaBuf::new([0; 4]),
                    done <- Completion::new(),
                    slot <- Completion::new(),
                }),
                GFP_KERNEL,
            )?,
        };
        let mut q = self.vq.lock();
        let added = loop {
            match q.add(&req) {
                Ok(()) => break Ok(()),
                Err(e) if e == ENOSPC => {
                    vdev.info_ratelimited(
                        0,
                        format_args!("failed to send command to virtio pmem device, no free slots in the virtqueue\n"),
                    );
                    // Re-armed before the interrupt can see us.
                    req.slot.reinit();
                    q.locked().push(req.clone())?;
                    drop(q);
                    // A host response frees a slot and wakes us.
                    req.slot.wait();
                    q = self.vq.lock();
                }
                Err(e) => break Err(e),
            }
        };
        let kicked = q.kick();
        drop(q);
        if added.is_err() || !kicked {
            dev_info!(vdev.device(), "failed to send command to virtio pmem device\n");
            return Err(EIO);
        }
        // The interrupt hands the request back once the host answered.
        req.done.wait();
        let status = u32::from_le_bytes(req.resp.read());
        // Kept if the interrupt already dropped its reference (it does so
        // after completing `done`); otherwise the next flush allocates.
        *spare = req.into_unique_or_drop();
        match status {
            0 => Ok(()),
            _ => Err(EIO),
        }
    }
}

/// The bus: no DIMMs, no commands.
struct PmemBus;
crate::bus_provider_attrs!(PmemBus);

/// The bus has no DIMMs; the type names none.
struct NoDimm;
crate::dimm_provider_attrs!(NoDimm);

/// The flush after a REQ_FUA bio's data, run on the device's flush
/// queue (C: `virtio_pmem_flush_work`).
struct FuaJob {
    flusher: Arc<Flusher>,
    bio: PendingBio,
}

impl Job for FuaJob {
    fn run(self) {
        let status = self.flusher.flush();
        self.bio.complete(status);
    }
}

/// The region: its flush goes to the device; FUA flushes through `fua`.
struct PmemRegion {
    flusher: Arc<Flusher>,
    fua: Arc<OrderedQueue>,
}
crate::region_provider_attrs!(PmemRegion);

crate::group_list!(static BUS_GROUPS: PmemBus = []);
crate::group_list!(static REGION_GROUPS: PmemRegion = []);

impl BusProvider for PmemBus {
    type Dimm = NoDimm;
    type Region = PmemRegion;

    /// No commands (C: the descriptor has no `ndctl`).
    fn ctl(&self, _dimm: Option<&NoDimm>, _cmd: u32, _buf: &mut [u8]) -> Result<CmdCompletion> {
        Err(ENOTTY)
    }

    /// `async_pmem_flush`.
    fn region_flush(region: &PmemRegion) -> Result {
        region.flusher.flush()
    }

    /// `async_pmem_flush` with a bio: queued to the flush work.
    fn region_flush_fua(region: &PmemRegion, bio: PendingBio) -> FuaFlush {
        match region.fua.enqueue_noio(FuaJob { flusher: region.flusher.clone(), bio }) {
            Ok(()) => FuaFlush::Queued,
            Err((e, job)) => FuaFlush::Done(job.bio, Err(e)),
        }
    }
}

/// A bound device: the bus goes first (no flush can come after it), then
/// the flush work still queued runs (C: `drain_workqueue`), then the
/// workqueue and the virtqueue go (the device is reset and the queue
/// deleted).
struct Bound {
    bus: Option<Bus<PmemBus>>,
    fua: Arc<OrderedQueue>,
    _flusher: Arc<Flusher>,
}

impl Drop for Bound {
    fn drop(&mut self) {
        drop(self.bus.take());
        self.fua.drain();
    }
}

/// The driver (C: `virtio_pmem_driver`).
struct VirtioPmem;

impl virtio::Driver for VirtioPmem {
    type Data = Bound;
    const ID_TABLE: &'static [(u32, u32)] = &[(VIRTIO_ID_PMEM, virtio::DEV_ANY_ID)];
    const FEATURES: &'static [core::ffi::c_uint] = &[VIRTIO_PMEM_F_SHMEM_REGION];

    fn validate(v: &Validating<'_>) -> Result {
        let vdev = v.device();
        if vdev.has_feature(VIRTIO_PMEM_F_SHMEM_REGION) && vdev.shm_region(VIRTIO_PMEM_SHMEM_REGION_ID).is_none() {
            dev_info!(vdev.device(), "failed to get shared memory region {}\n", VIRTIO_PMEM_SHMEM_REGION_ID);
            v.clear_feature(VIRTIO_PMEM_F_SHMEM_REGION);
        }
        Ok(())
    }

    fn probe(vdev: &VirtioDevice) -> Result<Bound> {
        let dev = vdev.device();
        if !vdev.has_config_get() {
            dev_err!(dev, "virtio_pmem_probe failure: config access disabled\n");
            return Err(EINVAL);
        }
        let fua = Arc::new(OrderedQueue::new(c"virtio-pmem-flush", true)?, GFP_KERNEL)?;
        let vq = vdev.find_single_vq(c"flush_queue", HostAck, Waiters { queue: KVec::new(), head: 0 }).inspect_err(|_| {
            dev_err!(dev, "failed to initialize virtio pmem vq's\n");
        })?;
        let flusher = Arc::pin_init(pin_init!(Flusher { serial <- new_mutex!(None), vq }), GFP_KERNEL)?;
        let (start, size) = match vdev.shm_region(VIRTIO_PMEM_SHMEM_REGION_ID) {
            Some(r) if vdev.has_feature(VIRTIO_PMEM_F_SHMEM_REGION) => r,
            _ => (vdev.cread_le64(CONFIG_START), vdev.cread_le64(CONFIG_SIZE)),
        };
        let desc = BusDesc {
            provider_name: Some(c"virtio-pmem"),
            cmd_mask: 0,
            dimm_family_mask: 0,
            bus_family_mask: 0,
            groups: &BUS_GROUPS,
            owner: &crate::THIS_MODULE,
            media_fault: false,
            fw_activation: false,
        };
        let mut bus = Bus::register(dev, desc, Arc::new(PmemBus, GFP_KERNEL)?).map_err(|_| {
            dev_err!(dev, "failed to register device with nvdimm_bus\n");
            ENXIO
        })?;
        let numa_node = numa::memory_add_physaddr_to_nid(start);
        let mut target_node = numa::phys_to_target_node(start);
        if target_node == NUMA_NO_NODE {
            target_node = numa_node;
            dev_dbg!(dev, "changing target node from {} to {}", NUMA_NO_NODE, target_node);
        }
        // The region can be used as soon as it exists: the device must be
        // ready before (virtio_dev_probe would make it ready only after us).
        vdev.ready();
        let region = NewRegion {
            data: Arc::new(PmemRegion { flusher: flusher.clone(), fua: fua.clone() }, GFP_KERNEL)?,
            groups: &REGION_GROUPS,
            start,
            size,
            mapping: None,
            mappings: &[],
            cookies: None,
            numa_node,
            target_node,
            flags: ND_REGION_PAGEMAP | ND_REGION_ASYNC,
            volatile: false,
            flush: true,
        };
        if bus.add_region(region).is_err() {
            dev_err!(dev, "failed to create nvdimm region\n");
            vdev.reset();
            drop(bus);
            return Err(ENXIO);
        }
        Ok(Bound { bus: Some(bus), fua, _flusher: flusher })
    }
}
