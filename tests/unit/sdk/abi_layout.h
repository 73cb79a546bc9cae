/*
 * The layout facts of plugin_abi.h that a C and a C++ compiler must agree on. abi_layout.c
 * computes them as C; the test computes them as C++ and compares.
 */
#ifndef OSBD_TEST_ABI_LAYOUT_H
#define OSBD_TEST_ABI_LAYOUT_H

#include <stddef.h>

#include "osb/plugin_abi.h"

#define OSB_TEST_ABI_LAYOUT(X)            \
  X(sizeof(osb_buffer))                   \
  X(offsetof(osb_buffer, size))           \
  X(sizeof(osb_status))                   \
  X(sizeof(osb_log_level))                \
  X(sizeof(osb_host_v1))                  \
  X(offsetof(osb_host_v1, abi_major))     \
  X(offsetof(osb_host_v1, abi_minor))     \
  X(offsetof(osb_host_v1, context))       \
  X(offsetof(osb_host_v1, log))           \
  X(offsetof(osb_host_v1, set_result))    \
  X(offsetof(osb_host_v1, set_error))     \
  X(sizeof(osb_plugin_v1))                \
  X(offsetof(osb_plugin_v1, abi_major))   \
  X(offsetof(osb_plugin_v1, abi_minor))   \
  X(offsetof(osb_plugin_v1, name))        \
  X(offsetof(osb_plugin_v1, version))     \
  X(offsetof(osb_plugin_v1, vendor))      \
  X(offsetof(osb_plugin_v1, create))      \
  X(offsetof(osb_plugin_v1, destroy))     \
  X(offsetof(osb_plugin_v1, get_catalog)) \
  X(offsetof(osb_plugin_v1, provision))   \
  X(offsetof(osb_plugin_v1, deprovision)) \
  X(offsetof(osb_plugin_v1, update))      \
  X(offsetof(osb_plugin_v1, bind))        \
  X(offsetof(osb_plugin_v1, unbind))      \
  X(offsetof(osb_plugin_v1, poll))

#ifdef __cplusplus
extern "C" {
#endif

/* Writes up to capacity layout values, computed by the C compiler; returns how many exist. */
size_t osb_test_abi_layout_c(size_t* values, size_t capacity);

/* The value of OSB_STATUS_INTERNAL_ERROR as the C compiler sees it. */
int osb_test_internal_error_c(void);

#ifdef __cplusplus
}
#endif

#endif /* OSBD_TEST_ABI_LAYOUT_H */
