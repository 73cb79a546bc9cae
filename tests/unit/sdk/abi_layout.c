/* plugin_abi.h compiled as C99: it must compile cleanly and agree with C++ on every layout. */
#include "abi_layout.h"

size_t osb_test_abi_layout_c(size_t* values, size_t capacity) {
  size_t count = 0;
#define OSB_TEST_STORE(value) \
  if (count < capacity) {     \
    values[count] = (value);  \
  }                           \
  ++count;
  OSB_TEST_ABI_LAYOUT(OSB_TEST_STORE)
#undef OSB_TEST_STORE
  return count;
}

int osb_test_internal_error_c(void) {
  return (int)OSB_STATUS_INTERNAL_ERROR;
}
