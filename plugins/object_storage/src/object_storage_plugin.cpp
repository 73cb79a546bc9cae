// The plugin's entry point: the one exported symbol, osb_plugin_entry.

#include <osb/sdk/plugin.hpp>

#include "object_storage_backend.hpp"

OSB_DECLARE_PLUGIN(osbd_object_storage::ObjectStorageBackend, "org.osbd.object_storage", "1.0.0",
                   "osbd")
