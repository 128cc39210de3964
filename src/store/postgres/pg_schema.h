#pragma once

// The PostgreSQL schema and its versioned migrations.

#include "store/postgres/pg_connection.h"
#include "store/store.h"

namespace devauth::postgres {

// The schema version this build creates and understands.
int latestSchemaVersion();

// Brings the schema to latestSchemaVersion() in one transaction that holds a transaction-level
// advisory lock, so servers that start together apply each migration exactly once and the
// others wait, then find nothing left to do. Fails with Internal when the database has a newer
// schema than this build knows.
StoreResult<void> migrateSchema(Connection& connection);

}  // namespace devauth::postgres
