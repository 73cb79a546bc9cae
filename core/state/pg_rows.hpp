#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/result>
#include <pqxx/row>
#include <pqxx/transaction>

#include "state/columns.hpp"
#include "state/pg_pool.hpp"
#include "state/record_codec.hpp"
#include "state/records.hpp"

namespace osbd::state::pg {

/// "INSERT INTO <table> (<columns>) VALUES ($1, ..., $n) <rest>", n the number of columns.
std::string insert_into(const char* table, const char* columns, const char* rest = "");

/// The instance or binding an operation acts on (binding_id "" for the instance itself).
struct ResourceKey {
  const std::string& instance_id;
  const std::string& binding_id;
};

/// The lifecycle columns a resource row is written with, where they may differ from the record:
/// a new resource starts with its operation active (see starting), an imported one is written
/// as it was (see as_recorded).
struct RowLifecycle {
  ResourceStatus status;
  const std::string& active_operation;
  const std::string& last_operation;
};
/// A new resource's lifecycle: creating, with op_id its active and its last operation.
RowLifecycle starting(const std::string& op_id);
/// The lifecycle r records.
RowLifecycle as_recorded(const ResourceLifecycle& r);

/// The parameters of a statement ($1, $2, ... in the order added) as libpq text; a nullopt is
/// SQL NULL.
class Params {
 public:
  /// Adds a text. Throws std::invalid_argument for a NUL byte, which PostgreSQL text cannot hold
  /// and libpq would cut the text at.
  Params& text(std::string_view value);
  /// Adds a text, or NULL for nullopt (a JSON column).
  Params& nullable(const std::optional<std::string>& value);
  /// Adds an integer.
  Params& integer(int64_t value);
  /// Adds a boolean.
  Params& boolean(bool value);

  /// The values in order.
  const std::vector<std::optional<std::string>>& values() const noexcept { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

/// Runs sql with params in tx.
pqxx::result exec(Transaction& tx, const std::string& sql, const Params& params = {});

/// Adds every column of an instance row (kInstanceColumns) with the lifecycle given.
void add_instance(Params& p, const RecordCodec& codec, const InstanceRecord& r,
                  const RowLifecycle& lifecycle);
/// Adds every column of a binding row (kBindingColumns), the response sealed.
void add_binding(Params& p, const RecordCodec& codec, const BindingRecord& r,
                 const RowLifecycle& lifecycle);
/// Adds every column of an operation row (kOperationColumns); its instance_id and binding_id
/// are taken from the resource the store acts on, so that the row names the resource it
/// belongs to.
void add_operation(Params& p, const RecordCodec& codec, const OperationRecord& op,
                   const ResourceKey& on);
/// Adds id, state, description, plugin_operation, attempts, updated_at_ms and deadline_ms: what
/// the end of an operation changes (see Store::finish_instance_operation).
void add_operation_end(Params& p, const OperationRecord& op);
/// Adds every column of a replica row (kReplicaColumns).
void add_replica(Params& p, const RecordCodec& codec, const ReplicaRecord& r);

/// The instance in a row of a SELECT of kInstanceColumns.
InstanceRecord read_instance(const pqxx::row& row, const RecordCodec& codec);
/// The binding in a row of a SELECT of kBindingColumns.
BindingRecord read_binding(const pqxx::row& row, const RecordCodec& codec);
/// The operation in a row of a SELECT of kOperationColumns.
OperationRecord read_operation(const pqxx::row& row, const RecordCodec& codec);
/// The replica in a row of a SELECT of kReplicaColumns.
ReplicaRecord read_replica(const pqxx::row& row, const RecordCodec& codec);

/// Text of a column ("" for NULL).
std::string text_of(const pqxx::field& f);
/// Integer value of a column.
int64_t integer_of(const pqxx::field& f);

}  // namespace osbd::state::pg
