/*
 * osbd plugin ABI: the only binary contract between the osbd broker (the host) and a plugin.
 *
 * Pure C (C99 and C++), no dependency beyond <stddef.h> and <stdint.h>. Plugins may be built with
 * any compiler and standard library; nothing C++ crosses this boundary.
 *
 * Versioning
 *   - OSB_PLUGIN_ABI_VERSION_MAJOR must be equal in host and plugin.
 *   - The plugin's OSB_PLUGIN_ABI_VERSION_MINOR must be <= the host's.
 *   - osb_host_v1 and osb_plugin_v1 only grow at the end within one major version; slots are never
 *     removed or reordered. Both carry struct_size so either side can tell which slots exist.
 *   - struct_size, abi_major and abi_minor are the first three fields of both tables in every
 *     major version, so that either side can always read the other's version and say why it
 *     refuses it.
 *   - Changing this file requires a version bump; a test hashes it against a committed value.
 *
 * Data
 *   - Every string and JSON document crosses as an osb_buffer: UTF-8 bytes plus a length, not
 *     NUL-terminated, valid only for the duration of the call it is passed to. The receiver copies
 *     what it keeps.
 *   - Requests and results are JSON objects (the OSB wire format is JSON). Their fields are
 *     documented in sdk/README.md and mirrored by the C++ SDK types in osb/sdk/.
 *
 * Ownership
 *   - Whoever allocates frees. A plugin returns results by calling host->set_result or
 *     host->set_error on the osb_call it was handed; the host copies the bytes.
 *   - An osb_backend is created by the plugin's create() and released only by its destroy().
 *   - The osb_plugin_v1 table returned by the entry point is static storage owned by the plugin and
 *     must stay valid until the library is unloaded.
 *
 * Errors
 *   - No C++ exception, longjmp or signal may cross the boundary. Functions return osb_status; on
 *     anything but OSB_STATUS_OK / OSB_STATUS_IN_PROGRESS the plugin calls set_error with a
 *     user-facing description (the host treats a missing description as a plugin bug).
 *
 * Threads
 *   - The host calls a backend's operation functions concurrently from several worker threads;
 *     they must be thread-safe. create() and destroy() are never concurrent with anything else on
 *     the same backend. Plugins must not use thread-local storage that outlives a call.
 */
#ifndef OSB_PLUGIN_ABI_H
#define OSB_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI major version: a plugin loads only if its major equals the host's. */
#define OSB_PLUGIN_ABI_VERSION_MAJOR 1
/** ABI minor version: a plugin loads only if its minor is <= the host's. */
#define OSB_PLUGIN_ABI_VERSION_MINOR 1

/** Name of the one symbol every plugin exports (see osb_plugin_entry_fn). */
#define OSB_PLUGIN_ENTRY_SYMBOL "osb_plugin_entry"

#if defined(_WIN32)
#define OSB_PLUGIN_EXPORT __declspec(dllexport)
#else
#define OSB_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/**
 * A view of UTF-8 bytes. OWNERSHIP: borrowed; valid only during the call it is passed to.
 * data may be NULL only when size is 0.
 */
typedef struct osb_buffer {
  const char* data;
  size_t size;
} osb_buffer;

/**
 * Outcome of a plugin function: one of the OSB_STATUS_* values. A fixed-width integer, not an
 * enum, so its size never depends on compiler flags and the host can range-check what it gets.
 * Values are stable across minor versions; new ones are appended.
 */
typedef int32_t osb_status;

/** Done; the result (if any) was set with set_result. */
#define OSB_STATUS_OK ((osb_status)0)
/** Accepted and still running; the result carries {"operation": "<plugin token>"}. */
#define OSB_STATUS_IN_PROGRESS ((osb_status)1)
/** Request or parameters invalid (HTTP 400). Nothing was changed. */
#define OSB_STATUS_BAD_REQUEST ((osb_status)2)
/** Valid but cannot be done for this instance or plan (HTTP 422). Nothing was changed. */
#define OSB_STATUS_UNPROCESSABLE ((osb_status)3)
/** The plan only works asynchronously and the platform did not allow it (422 AsyncRequired). */
#define OSB_STATUS_ASYNC_REQUIRED ((osb_status)4)
/** The binding needs an app_guid the request lacks (422 RequiresApp). */
#define OSB_STATUS_REQUIRES_APP ((osb_status)5)
/** The backend failed or is unreachable (HTTP 502 / failed operation). Safe to retry. */
#define OSB_STATUS_BACKEND_ERROR ((osb_status)6)
/** A bug or unexpected condition inside the plugin (HTTP 500). */
#define OSB_STATUS_INTERNAL_ERROR ((osb_status)7)

/** Severity of a log line sent to the host: one of the OSB_LOG_* values. */
typedef int32_t osb_log_level;

/** Detail for debugging. */
#define OSB_LOG_DEBUG ((osb_log_level)0)
/** Normal operation. */
#define OSB_LOG_INFO ((osb_log_level)1)
/** Something unexpected that was handled. */
#define OSB_LOG_WARN ((osb_log_level)2)
/** Something failed. */
#define OSB_LOG_ERROR ((osb_log_level)3)

/** Opaque: the host's per-plugin context. OWNERSHIP: host; valid until the plugin is unloaded. */
typedef struct osb_host_context osb_host_context;
/**
 * Opaque: one call in progress; results are reported against it.
 * OWNERSHIP: host; valid for the duration of the call only.
 */
typedef struct osb_call osb_call;
/** Opaque: a plugin's backend object. OWNERSHIP: plugin; freed only by its destroy(). */
typedef struct osb_backend osb_backend;

/**
 * Callbacks the host offers the plugin. OWNERSHIP: host; valid until the plugin is unloaded.
 * Only grows at the end; check struct_size before using a slot added after 1.0.
 */
typedef struct osb_host_v1 {
  /** sizeof(osb_host_v1) as the host was compiled. */
  uint32_t struct_size;
  /** Host ABI major version. */
  uint32_t abi_major;
  /** Host ABI minor version. */
  uint32_t abi_minor;
  /** Passed back in log(); identifies the plugin to the host. */
  osb_host_context* context;
  /** Writes a log line. Must never carry secrets (passwords, keys, credentials). Thread-safe. */
  void (*log)(osb_host_context* context, osb_log_level level, osb_buffer message);
  /** Sets the JSON result of a call (copied). A second call replaces the first. */
  void (*set_result)(osb_call* call, osb_buffer json);
  /** Sets the user-facing error description of a call (copied). Must not contain secrets. */
  void (*set_error)(osb_call* call, osb_buffer description);
} osb_host_v1;

/** Signature of an operation: request is a JSON object; results go through host->set_* on call. */
typedef osb_status (*osb_operation_fn)(osb_backend* backend, osb_buffer request_json,
                                       osb_call* call);

/**
 * What a plugin offers. OWNERSHIP: plugin (static storage); valid until unloaded.
 * Only grows at the end; the host reads slots only below struct_size.
 */
typedef struct osb_plugin_v1 {
  /** sizeof(osb_plugin_v1) as the plugin was compiled. */
  uint32_t struct_size;
  /** OSB_PLUGIN_ABI_VERSION_MAJOR the plugin was compiled with. */
  uint32_t abi_major;
  /** OSB_PLUGIN_ABI_VERSION_MINOR the plugin was compiled with. */
  uint32_t abi_minor;
  /** Reverse-DNS plugin name, e.g. "com.example.mysql". NUL-terminated, static. */
  const char* name;
  /** Plugin version (semver). NUL-terminated, static. */
  const char* version;
  /** Vendor display name. NUL-terminated, static. */
  const char* vendor;

  /**
   * Creates a backend from the plugin's configuration subtree (a JSON object, "{}" when the
   * operator gave none). host is the same table that was passed to the entry point. Returns NULL
   * on failure after calling host->set_error(call, ...).
   */
  osb_backend* (*create)(const osb_host_v1* host, osb_buffer config_json, osb_call* call);
  /** Releases a backend created by create(). Called once, after every other call returned. */
  void (*destroy)(osb_backend* backend);

  /** Result: the catalog {"services": [...]} this backend contributes. request_json is "{}". */
  osb_operation_fn get_catalog;
  /** Provisions an instance. Result: {dashboard_url?, metadata?, instance_state?, operation?}. */
  osb_operation_fn provision;
  /**
   * Deprovisions an instance; succeeds for unknown or half-created instances.
   * Result: {operation?}.
   */
  osb_operation_fn deprovision;
  /** Updates plan, parameters or context. Result: {dashboard_url?, instance_state?, operation?}. */
  osb_operation_fn update;
  /** Creates a binding. Result: {credentials?, endpoints?, ..., binding_state?, operation?}. */
  osb_operation_fn bind;
  /** Removes a binding; succeeds for unknown or half-created bindings. Result: {operation?}. */
  osb_operation_fn unbind;
  /**
   * Polls an operation that returned OSB_STATUS_IN_PROGRESS. Request carries "operation" (the
   * plugin's token) and "kind". Result: {state: "in progress"|"succeeded"|"failed", description?,
   * and on success the fields the synchronous call would have returned}.
   */
  osb_operation_fn poll;
  /**
   * Since ABI 1.1; the host reads it only when struct_size covers it, and NULL means "cannot
   * tell". Reports what an instance uses. Request: {instance_id, service_id, plan_id,
   * instance_state}. Result, every field optional: {bytes, objects (integers >= 0), quota_bytes,
   * quota_objects (the limits, integers >= 0), over_quota (boolean: the limit is exceeded and
   * enforced), description (user-facing, e.g. why the instance is read-only)}. Must be cheap: the
   * host calls it when a platform or an operator reads the instance. Never changes anything.
   */
  osb_operation_fn instance_usage;
} osb_plugin_v1;

/**
 * The exported entry point, named OSB_PLUGIN_ENTRY_SYMBOL. host is valid until the library is
 * unloaded. Returns the plugin's static table, or NULL if the plugin cannot work with this host.
 */
typedef const osb_plugin_v1* (*osb_plugin_entry_fn)(const osb_host_v1* host);

#ifdef __cplusplus
}
#endif

#endif /* OSB_PLUGIN_ABI_H */
