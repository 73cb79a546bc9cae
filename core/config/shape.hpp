#pragma once

// The shape check of osbd.yaml: the parsed YAML against config/osbd.schema.json (compiled into
// osbd), with key-named messages. What the schema cannot say (rules across keys, files, the
// plugins' own keys) is left to the loader.

#include <string>

#include <yaml-cpp/yaml.h>

namespace osbd::config::detail {

/// Throws ConfigError "FILE: KEY: reason" for the first place where root does not match the
/// schema, for texts that are not UTF-8 and for mapping keys that are not scalars. Plugin
/// subtrees are checked for being mappings only. After it returns, every key the schema
/// describes has the type it gives, so the loader reads scalars without further checks.
void check_shape(const YAML::Node& root, const std::string& file);

}  // namespace osbd::config::detail
