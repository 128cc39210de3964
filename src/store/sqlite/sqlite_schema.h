#pragma once

// The SQLite schema and its versioned migrations.

#include "store/sqlite/sqlite_handle.h"

namespace devauth::sqlite {

// The schema version after every migration has run; stored in PRAGMA user_version.
int latestSchemaVersion();

// Applies every migration newer than the database's user_version, each in its own BEGIN
// IMMEDIATE transaction that rereads the version first, so several processes may migrate the
// same file at once. Fails with Internal when the file has a newer schema than this build.
StoreResult<void> migrateSchema(Connection& connection);

}  // namespace devauth::sqlite
