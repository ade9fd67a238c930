/* SPDX-License-Identifier: MIT */
/*
 * vhost_user.h - vhost-user (QEMU docs/interop/vhost-user.rst) on top of the
 * device side (backend) and the driver side (frontend).
 *
 * The library owns no thread unless asked: both ends expose fds and
 * callbacks; a small built-in epoll runner serves the tools.
 */
#ifndef VIRTQ_VHOST_USER_H
#define VIRTQ_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device.h"
#include "driver.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================= backend (device side) ======================== */

/* (defined by the backend work: struct virtq_vu_backend and friends) */

/* ====================== frontend (driver side) ======================== */

/* (defined by the frontend work: struct virtq_vu_frontend and friends) */

#ifdef __cplusplus
}
#endif

#endif /* VIRTQ_VHOST_USER_H */
