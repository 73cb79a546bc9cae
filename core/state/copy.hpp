#pragma once

#include <cstddef>

#include "state/store.hpp"

namespace osbd::state {

/// What copy_store copied, counted again in the target afterwards.
struct CopyCounts {
  std::size_t instances = 0;   ///< instances in the target
  std::size_t bindings = 0;    ///< bindings in the target
  std::size_t operations = 0;  ///< operations in the target (finished ones included)
};

/// Copies every instance, binding and operation of from into to, in one transaction of to:
/// statuses, owners and times as they are; binding responses opened with from's keys and sealed
/// with to's. Then copies the usage history (events, then samples in batches: transactions of
/// their own). Throws StoreError when to is not empty (nothing written) or when the counts read
/// back from to differ from what from holds.
CopyCounts copy_store(Store& from, Store& to);

}  // namespace osbd::state
