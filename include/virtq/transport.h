/* SPDX-License-Identifier: MIT */
/*
 * transport.h - the driver end inside a guest: one small interface to a
 * VIRTIO transport (virtio-mmio, virtio-pci modern), and the generic
 * device initialisation sequence built on it (VIRTIO 1.x 3.1.1).
 *
 * Freestanding, under driver.h's rules: no libc, no malloc, every register
 * access through the transport's ops (whose implementations use a
 * documented volatile accessor or a caller hook).  Every wait on the device
 * is bounded: a register that never settles gives -ETIMEDOUT, never a hang.
 *
 * A concrete transport (transport/mmio.h, transport/pci.h) embeds a
 * struct virtq_transport as its first member and fills @ops; device
 * drivers (drivers/) see only struct virtq_transport, so they run on
 * either transport, and on a fake one in unit tests.
 *
 * Typical use (after the transport's probe):
 *
 *	virtq_transport_negotiate(t, VIRTQ_FEATURE(VIRTQ_F_EVENT_IDX) | dev_bits, &feat);
 *	virtq_transport_queue_size(t, 0, 256, &num);
 *	virtq_transport_queue_config(t, 0, &cfg);	// features, index, notify hook
 *	cfg.num = num; cfg.desc = ...;			// caller memory
 *	virtq_driver_init(vq, len, &cfg);
 *	virtq_transport_queue_enable(t, vq);
 *	virtq_transport_driver_ok(t);
 *
 * Errors are -errno; freestanding builds use Linux's values.
 */
#ifndef VIRTQ_TRANSPORT_H
#define VIRTQ_TRANSPORT_H

#include "driver.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Device status bits (VIRTIO 1.x 2.1). */
#define VIRTQ_STATUS_ACKNOWLEDGE	1u
#define VIRTQ_STATUS_DRIVER		2u
#define VIRTQ_STATUS_DRIVER_OK		4u
#define VIRTQ_STATUS_FEATURES_OK	8u
#define VIRTQ_STATUS_DEVICE_NEEDS_RESET	64u
#define VIRTQ_STATUS_FAILED		128u

/* Interrupt status bits (virtio-mmio InterruptStatus, virtio-pci ISR). */
#define VIRTQ_ISR_QUEUE		1u	/* a used buffer notification */
#define VIRTQ_ISR_CONFIG	2u	/* the configuration changed */

/* Device IDs (VIRTIO 1.x 5). */
#define VIRTQ_ID_NET		1u
#define VIRTQ_ID_BLOCK		2u
#define VIRTQ_ID_CONSOLE	3u
#define VIRTQ_ID_RNG		4u

/* Bound on every poll of a device register (reset, generation retries). */
#ifndef VIRTQ_TRANSPORT_POLL_MAX
#define VIRTQ_TRANSPORT_POLL_MAX	1000000u
#endif

struct virtq_transport;

/*
 * What a transport implements.  All are required.  None of them waits
 * without bound.  Values are in CPU order; the transport converts.
 */
struct virtq_transport_ops {
	/* Write 0 to the status and poll (bounded) until it reads 0: 0 or -ETIMEDOUT. */
	int (*reset)(struct virtq_transport *t);
	uint8_t (*get_status)(struct virtq_transport *t);
	void (*set_status)(struct virtq_transport *t, uint8_t status);
	/* All 64 device feature bits (a legacy transport has only 32). */
	uint64_t (*get_features)(struct virtq_transport *t);
	void (*set_features)(struct virtq_transport *t, uint64_t features);
	/*
	 * Queue @index: *max = the largest size the device offers (0: the
	 * queue does not exist).  Returns 0, or -EBUSY if the queue is
	 * already live (enabled / has a PFN) after a reset.
	 */
	int (*queue_max)(struct virtq_transport *t, uint16_t index, uint32_t *max);
	/*
	 * Program queue @index with @num entries at the given device
	 * addresses and enable it.  Returns 0, or -EBUSY (the queue is
	 * live), -EINVAL (@num 0, not a power of two or above the device's
	 * maximum; on a legacy transport, areas not in the legacy contiguous
	 * layout of t->legacy_align), -ERANGE (an address or the queue's
	 * doorbell does not fit the transport), -EIO (the device did not
	 * take the queue: the enable / PFN register reads back wrong).
	 */
	int (*queue_enable)(struct virtq_transport *t, uint16_t index, uint32_t num,
			    uint64_t desc, uint64_t avail, uint64_t used);
	/* Ring queue @index's doorbell: 0, or -ERANGE (no doorbell for @index). */
	int (*queue_notify)(struct virtq_transport *t, uint16_t index);
	/* Configuration generation (a legacy transport without one returns 0). */
	uint32_t (*config_generation)(struct virtq_transport *t);
	/* Device config bytes [off, off + len): -ERANGE past config_len. */
	int (*config_read)(struct virtq_transport *t, uint32_t off, void *buf, uint32_t len);
	int (*config_write)(struct virtq_transport *t, uint32_t off, const void *buf, uint32_t len);
	/* Read and acknowledge the interrupt status: VIRTQ_ISR_* bits. */
	uint32_t (*interrupt_ack)(struct virtq_transport *t);
};

struct virtq_transport {
	const struct virtq_transport_ops *ops;
	uint32_t device_id;	/* VIRTQ_ID_*, set by the probe */
	uint32_t vendor_id;
	uint32_t config_len;	/* bytes of device config space the transport can reach */
	uint32_t legacy_align;	/* 0: modern; else legacy, queues in the contiguous layout */
	uint64_t features;	/* negotiated, set by virtq_transport_negotiate */
};

/*
 * The device initialisation sequence up to FEATURES_OK: reset (bounded),
 * ACKNOWLEDGE, DRIVER, read the device features, accept those in
 * @driver_features that are also offered and either device specific
 * (bits 0..23) or implemented by the ring (VIRTQ_DRIVER_FEATURES), write
 * them, set FEATURES_OK and read it back.  A modern transport requires
 * VERSION_1 from the device and always accepts it; a legacy one never
 * offers it.  On success t->features (and *@negotiated if not NULL) is the
 * accepted set.  On failure FAILED is set in the status.
 *
 * Returns 0, or
 *   -ETIMEDOUT  the reset never completed;
 *   -ENODEV     a modern device that does not offer VERSION_1;
 *   -ENOTSUP    the device cleared FEATURES_OK (it refuses the set).
 */
int virtq_transport_negotiate(struct virtq_transport *t, uint64_t driver_features,
			      uint64_t *negotiated);

/*
 * The size to use for queue @index: min(@want, the device's maximum),
 * rounded down to a power of two, at most 32768.
 * Returns 0 with *@num set, or
 *   -ENOENT  the queue does not exist (maximum 0);
 *   -EBUSY   the queue is already live;
 *   -EINVAL  @want is 0.
 */
int virtq_transport_queue_size(struct virtq_transport *t, uint16_t index,
			       uint32_t want, uint32_t *num);

/*
 * Fill the transport's part of a queue's config: features (the ring bits
 * of t->features), queue_index, notify = virtq_transport_notify_hook,
 * notify_opaque = @t.  The caller sets num, the areas and its own hooks.
 */
void virtq_transport_queue_config(struct virtq_transport *t, uint16_t index,
				  struct virtq_driver_config *cfg);

/*
 * Program queue virtq_driver_queue_index(@vq) from the initialised @vq
 * (size and ring device addresses) and enable it.
 * Returns 0, or what ops->queue_enable returns (-EBUSY, -EINVAL, -ERANGE,
 * -EIO).
 */
int virtq_transport_queue_enable(struct virtq_transport *t, struct virtq_driver *vq);

/* Set DRIVER_OK.  Returns 0, or -EIO if the device set NEEDS_RESET or FAILED. */
int virtq_transport_driver_ok(struct virtq_transport *t);

/*
 * A driver.h notify hook: @opaque is the struct virtq_transport.  Rings
 * @queue_index's doorbell.  Returns 0, or -ERANGE (no doorbell for
 * @queue_index: virtio-pci keeps VIRTQ_PCI_MAX_QUEUES of them).
 */
int virtq_transport_notify_hook(void *opaque, uint16_t queue_index);

/*
 * Read device config bytes [off, off + len) consistently: retried while
 * the generation changes, at most VIRTQ_TRANSPORT_POLL_MAX times.
 * Returns 0, or -ERANGE (past the config space), -EAGAIN (the generation
 * never settled).
 */
int virtq_transport_config_read(struct virtq_transport *t, uint32_t off,
				void *buf, uint32_t len);

/* Read and acknowledge the interrupt status: VIRTQ_ISR_* bits. */
uint32_t virtq_transport_interrupt_ack(struct virtq_transport *t);

/* True if the device set DEVICE_NEEDS_RESET (the driver must reset it). */
bool virtq_transport_needs_reset(struct virtq_transport *t);

/* Give up on the device: set FAILED. */
void virtq_transport_fail(struct virtq_transport *t);

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_TRANSPORT_H */
