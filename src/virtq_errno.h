/* SPDX-License-Identifier: MIT */
/*
 * virtq_errno.h - error numbers for the freestanding layers (transports,
 * device drivers).  A hosted build takes them from <errno.h>; a
 * freestanding build has no libc headers and uses Linux's values, so
 * -errno means the same on bare metal as on Linux.  Never installed.
 */
#ifndef VIRTQ_ERRNO_H
#define VIRTQ_ERRNO_H

#if __STDC_HOSTED__
#include <errno.h>
#else
#define ENOENT		2
#define EIO		5
#define ENXIO		6
#define EAGAIN		11
#define EFAULT		14
#define EBUSY		16
#define ENODEV		19
#define EINVAL		22
#define ENOSPC		28
#define EROFS		30
#define ERANGE		34
#define ENODATA		61
#define EPROTO		71
#define EMSGSIZE	90
#define ENOTSUP		95
#define ETIMEDOUT	110
#endif

#endif /* VIRTQ_ERRNO_H */
