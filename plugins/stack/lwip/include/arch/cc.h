/* SPDX-License-Identifier: Apache-2.0 */
/* arch/cc.h - lwIP's compiler and platform definitions for Oryx: Linux,
 * glibc, 64-bit. lwIP takes errno values and byte-order functions from the
 * C library, so its answers are Linux's. */
#ifndef ORYX_LWIP_ARCH_CC_H
#define ORYX_LWIP_ARCH_CC_H

#include <stdlib.h>
#include <sys/time.h>
#include <sys/types.h>

#define LWIP_UNIX_LINUX
#define LWIP_TIMEVAL_PRIVATE 0
#define LWIP_ERRNO_INCLUDE <errno.h>
#define LWIP_ERRNO_STDINCLUDE 1
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS

/* Initial sequence numbers and ephemeral ports. */
#define LWIP_RAND() ((u32_t)random())

typedef unsigned int sys_prot_t;

#endif /* ORYX_LWIP_ARCH_CC_H */
