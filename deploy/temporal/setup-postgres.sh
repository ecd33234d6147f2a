#!/bin/sh
# Creates the Temporal server's two PostgreSQL databases (persistence and visibility) if they are
# missing and brings their schemas to the server's version, with the server's own schema tool
# (temporal-sql-tool, cmd/tools/sql in go.temporal.io/server). Every step is idempotent: run it
# before each start of the server, and after an upgrade of it.
#
# The tool takes the connection from SQL_HOST, SQL_PORT, SQL_USER and SQL_PASSWORD (and SQL_TLS…).
# TEMPORAL_DB and TEMPORAL_VISIBILITY_DB name the databases (temporal, temporal_visibility);
# TEMPORAL_SQL_TOOL and TEMPORAL_SCHEMA_DIR say where the tool and the server's
# schema/postgresql/v12 are (as in the temporalio/admin-tools image by default).
#
# deploy/compose.yaml runs it in the admin-tools image; make e2e-cluster runs it against its
# PostgreSQL before it starts the server, so that it is tested.
set -eu
tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
schemas=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}
export SQL_PLUGIN="${SQL_PLUGIN:-postgres12}"

setup() { # database, schema directory under $schemas
	echo "temporal schema: $1 ($2)"
	"$tool" --db "$1" create
	"$tool" --db "$1" setup-schema -v 0.0
	"$tool" --db "$1" update-schema -d "$schemas/$2/versioned"
}
setup "${TEMPORAL_DB:-temporal}" temporal
setup "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}" visibility
