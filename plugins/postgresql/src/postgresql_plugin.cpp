// The plugin's entry point: the one exported symbol, osb_plugin_entry.

#include <osb/sdk/plugin.hpp>

#include "postgresql_backend.hpp"

OSB_DECLARE_PLUGIN(osbd_postgresql::PostgresqlBackend, "org.osbd.postgresql", "1.0.0", "osbd")
