// The plugin's entry point: the one exported symbol, osb_plugin_entry.

#include <osb/sdk/plugin.hpp>

#include "mysql_backend.hpp"

OSB_DECLARE_PLUGIN(osbd_mysql::MysqlBackend, "org.osbd.mysql", "1.0.0", "osbd")
