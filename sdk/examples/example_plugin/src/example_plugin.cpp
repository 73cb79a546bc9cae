// The plugin's entry point: the one exported symbol, osb_plugin_entry.

#include <osb/sdk/plugin.hpp>

#include "example_backend.hpp"

OSB_DECLARE_PLUGIN(osb_example::ExampleBackend, "org.osbd.example", "1.0.0", "osbd")
