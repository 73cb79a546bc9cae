#pragma once

#include <memory>
#include <string>

#include "plugin_host/backend.hpp"
#include "util/elastic_pool.hpp"

namespace osbd::plugin_host {

/// A plugin library loaded into this process with its created backend. The library outlives the
/// backend and every pointer taken from it. osbd runs in-process plugins this way, and
/// osbd-plugin-host runs its one plugin this way.
class InProcessBackend final : public Backend,
                               public std::enable_shared_from_this<InProcessBackend> {
 public:
  /// Takes ownership of a library whose entry table passed the version checks and whose backend
  /// was created.
  InProcessBackend(std::shared_ptr<boost::dll::shared_library> library, const osb_plugin_v1* table,
                   std::unique_ptr<HostContextData> host, osb_backend* backend);
  ~InProcessBackend() override;

  bool supports(Operation op) const noexcept override;
  /// Runs the call on a thread of pool_ and waits for it until deadline; a call still running
  /// then keeps its thread (and slot) until the plugin returns: that thread cannot be reclaimed.
  CallResult call(Operation op, std::string request, Deadline deadline, CallSlot slot,
                  const std::string& what) const override;
  HostStatus status() const override;

  /// Calls op on the calling thread and interprets what the plugin returned.
  CallResult call_here(Operation op, const std::string& request, const std::string& what) const;

 private:
  std::shared_ptr<boost::dll::shared_library> library_;  // declared first: destroyed last
  const osb_plugin_v1* table_;
  std::unique_ptr<HostContextData> host_;
  osb_backend* backend_;
  mutable util::ElasticPool pool_;  // the threads calls run on, so that deadlines can answer
};

/// True when a checked table implements op (usage only from a 1.1 table with the slot set).
bool table_supports(const osb_plugin_v1& table, Operation op) noexcept;

/// The identity fields of a checked table.
PluginInfo info_of(const osb_plugin_v1& table);

}  // namespace osbd::plugin_host
