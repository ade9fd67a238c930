/* SPDX-License-Identifier: MIT */
/*
 * transport.c - the generic device initialisation sequence on top of a
 * transport's ops (see virtq/transport.h).  Freestanding.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtq/transport.h"
#include "virtq_errno.h"

/* Ring and transport bits live in 24..63; below are the device's. */
#define RING_BITS	(~VIRTQ_DEVICE_FEATURES_MASK)

static void add_status(struct virtq_transport *t, uint8_t bits)
{
	t->ops->set_status(t, (uint8_t)(t->ops->get_status(t) | bits));
}

void virtq_transport_fail(struct virtq_transport *t)
{
	add_status(t, VIRTQ_STATUS_FAILED);
}

int virtq_transport_negotiate(struct virtq_transport *t, uint64_t driver_features,
			      uint64_t *negotiated)
{
	uint64_t offered, accept;
	int r;

	t->features = 0;
	r = t->ops->reset(t);
	if (r)
		return r;
	add_status(t, VIRTQ_STATUS_ACKNOWLEDGE);
	add_status(t, VIRTQ_STATUS_DRIVER);

	offered = t->ops->get_features(t);
	accept = driver_features &
		 (VIRTQ_DEVICE_FEATURES_MASK | VIRTQ_DRIVER_FEATURES);
	if (!t->legacy_align) {
		if (!(offered & VIRTQ_FEATURE(VIRTQ_F_VERSION_1))) {
			virtq_transport_fail(t);
			return -ENODEV;
		}
		accept |= VIRTQ_FEATURE(VIRTQ_F_VERSION_1);
	} else {
		/* Legacy: 32 feature bits, no VERSION_1, no FEATURES_OK. */
		accept &= 0xffffffffull & ~VIRTQ_FEATURE(VIRTQ_F_VERSION_1);
	}
	accept &= offered;
	t->ops->set_features(t, accept);

	if (!t->legacy_align) {
		add_status(t, VIRTQ_STATUS_FEATURES_OK);
		if (!(t->ops->get_status(t) & VIRTQ_STATUS_FEATURES_OK)) {
			virtq_transport_fail(t);
			return -ENOTSUP;
		}
	}
	t->features = accept;
	if (negotiated)
		*negotiated = accept;
	return 0;
}

int virtq_transport_queue_size(struct virtq_transport *t, uint16_t index,
			       uint32_t want, uint32_t *num)
{
	uint32_t max, n;
	int r;

	if (!want)
		return -EINVAL;
	r = t->ops->queue_max(t, index, &max);
	if (r)
		return r;
	if (!max)
		return -ENOENT;
	if (max > want)
		max = want;
	if (max > VIRTQ_MAX_SIZE)
		max = VIRTQ_MAX_SIZE;
	for (n = 1; n <= max / 2; n *= 2)
		;
	*num = n;
	return 0;
}

void virtq_transport_queue_config(struct virtq_transport *t, uint16_t index,
				  struct virtq_driver_config *cfg)
{
	cfg->features = t->features & RING_BITS & VIRTQ_DRIVER_FEATURES;
	cfg->queue_index = index;
	cfg->notify = virtq_transport_notify_hook;
	cfg->notify_opaque = t;
}

int virtq_transport_queue_enable(struct virtq_transport *t, struct virtq_driver *vq)
{
	uint64_t desc, avail, used;

	virtq_driver_ring_addrs(vq, &desc, &avail, &used);
	return t->ops->queue_enable(t, virtq_driver_queue_index(vq),
				    virtq_driver_size(vq), desc, avail, used);
}

int virtq_transport_driver_ok(struct virtq_transport *t)
{
	uint8_t s;

	add_status(t, VIRTQ_STATUS_DRIVER_OK);
	s = t->ops->get_status(t);
	if (s & (VIRTQ_STATUS_DEVICE_NEEDS_RESET | VIRTQ_STATUS_FAILED))
		return -EIO;
	return 0;
}

int virtq_transport_notify_hook(void *opaque, uint16_t queue_index)
{
	struct virtq_transport *t = opaque;

	return t->ops->queue_notify(t, queue_index);
}

int virtq_transport_config_read(struct virtq_transport *t, uint32_t off,
				void *buf, uint32_t len)
{
	uint32_t gen, tries;
	int r;

	if (off > t->config_len || len > t->config_len - off)
		return -ERANGE;
	for (tries = 0; tries < VIRTQ_TRANSPORT_POLL_MAX; tries++) {
		gen = t->ops->config_generation(t);
		r = t->ops->config_read(t, off, buf, len);
		if (r)
			return r;
		if (t->ops->config_generation(t) == gen)
			return 0;
	}
	return -EAGAIN;
}

uint32_t virtq_transport_interrupt_ack(struct virtq_transport *t)
{
	return t->ops->interrupt_ack(t);
}

bool virtq_transport_needs_reset(struct virtq_transport *t)
{
	return t->ops->get_status(t) & VIRTQ_STATUS_DEVICE_NEEDS_RESET;
}
